//! Drawing. Views read the state and draw; they decide nothing.

use super::app::{Conn, Level, Mode, State};
use super::keymap::{Action, Context, HelpLine, Keymap};
use super::panes::{PaneId, ViewCtx};
use super::theme::Theme;
use super::widgets::truncate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Below this the layout cannot hold its parts; a notice is drawn instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

pub fn draw(f: &mut Frame, s: &State, theme: &Theme) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f, area, theme);
        return;
    }
    let [header, tabs, banner, body, bottom] = chrome(area, matches!(s.conn, Conn::Offline(_)));
    draw_header(f, header, s, theme);
    draw_tabs(f, tabs, s, theme);
    if let Conn::Offline(why) = &s.conn {
        // The reason is cut with `…`, never the way out: "Ctrl-r retries" stays whole.
        let (badge, tail) = (" ✗ OFFLINE ", " — Ctrl-r retries");
        let room = (banner.width as usize)
            .saturating_sub(crate::console::widgets::text_width(badge) + tail.len() + 1);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(badge, theme.badge),
                Span::styled(format!(" {}{tail}", truncate(why, room)), theme.error),
            ])),
            banner,
        );
    }
    let vx = ViewCtx {
        theme: *theme,
        read_only: s.read_only,
        changes: s.changes.as_deref(),
        keymap: &s.keymap,
    };
    s.pane_ref(s.pane).view(f, body, &vx);
    draw_bottom(f, bottom, s, theme);
    if let (Mode::Changes { scroll }, Some(c)) = (&s.mode, &s.changes) {
        draw_changes(f, body, c, *scroll, theme);
    }
    if let Mode::Messages { scroll } = &s.mode {
        draw_messages(f, body, s, *scroll, theme);
    } else {
        draw_toasts(f, body, s, theme);
    }
    if let Mode::Help {
        scroll,
        search,
        typing,
    } = &s.mode
    {
        draw_help(f, area, s, (*scroll, search, *typing), theme);
    }
    if let Mode::Confirm(ask) = &s.mode {
        ask.confirm.render(f, area, &theme.widget_style());
    }
}

/// The screen's parts: the header, the tabs, the offline banner (when offline), the pane's
/// body and the hint bar. The update lays the screen out the same way (`State::ctx`), so
/// that the panes page by the rows they show.
pub fn chrome(area: Rect, offline: bool) -> [Rect; 5] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(u16::from(offline)),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area)
}

fn too_small(f: &mut Frame, area: Rect, theme: &Theme) {
    let text = vec![
        Line::styled("Terminal too small", theme.title),
        Line::from(format!(
            "{}×{} here, {MIN_WIDTH}×{MIN_HEIGHT} needed",
            area.width, area.height
        )),
        Line::from("Ctrl-C quits"),
    ];
    f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

fn draw_header(f: &mut Frame, area: Rect, s: &State, theme: &Theme) {
    // A snapshot is a file, not a connection: say when it was taken.
    let conn = match (&s.exported_at, &s.conn) {
        (Some(at), _) => Span::styled(
            format!(
                "· exported {}",
                crate::console::panes::common::fmt::short_time(
                    at,
                    crate::console::panes::common::fmt::TimeWidth::Minutes
                )
            ),
            theme.dim,
        ),
        (None, Conn::Connecting) => Span::styled("… connecting", theme.dim),
        (None, Conn::Online) => Span::styled("● online", theme.ok),
        (None, Conn::Offline(_)) => Span::styled("✗ offline", theme.error),
    };
    let org = s.org_name.as_deref().unwrap_or(&s.org_uid);
    // On a snapshot the file leads (the name already says what it is); times are UTC, as
    // everywhere in the console.
    let brand = if s.exported_at.is_some() {
        ""
    } else {
        "scimdesk "
    };
    let mut spans = vec![
        Span::styled(brand, theme.title),
        Span::raw(format!("{} · {org} ", s.server)),
        conn,
    ];
    if s.read_only {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" READ-ONLY ", theme.badge));
    }
    if let Some(n) = s.pending {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            format!("⧖ {n} pending"),
            if n > 0 { theme.warn } else { theme.dim },
        ));
    }
    if s.busy() {
        spans.push(Span::raw(format!(
            "  {}",
            SPINNER[s.spinner % SPINNER.len()]
        )));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Each pane's tab as drawn: `[2 Users]` for the pane shown, ` 1 SCIM ` for the others.
fn tab_labels(current: PaneId) -> impl Iterator<Item = (PaneId, String)> {
    PaneId::ALL.into_iter().enumerate().map(move |(i, p)| {
        let label = format!(" {} {} ", i + 1, p.title());
        if p == current {
            (p, format!("[{}]", label.trim()))
        } else {
            (p, label)
        }
    })
}

/// The pane whose tab is at column `x` of the tabs row (a click with `--mouse`).
pub fn tab_at(current: PaneId, x: u16) -> Option<PaneId> {
    let mut at = 0usize;
    for (p, label) in tab_labels(current) {
        let w = label.chars().count();
        if (at..at + w).contains(&(x as usize)) {
            return Some(p);
        }
        at += w + 1;
    }
    None
}

fn draw_tabs(f: &mut Frame, area: Rect, s: &State, theme: &Theme) {
    let mut spans = Vec::new();
    for (p, label) in tab_labels(s.pane) {
        if p == s.pane {
            spans.push(Span::styled(
                label,
                theme.title.add_modifier(Modifier::UNDERLINED),
            ));
        } else {
            spans.push(Span::styled(label, theme.dim));
        }
        spans.push(Span::raw(" "));
    }
    let filter = s.filter(s.pane);
    if !filter.is_empty() {
        // Cut with `…` where the tabs leave too little room (the filter line shows it whole).
        let room = (area.width as usize).saturating_sub(Line::from(spans.clone()).width() + 3);
        spans.push(Span::styled(
            format!(" /{} ", truncate(filter, room.saturating_sub(1))),
            theme.badge,
        ));
    }
    let tabs = Line::from(spans);
    // The comparison badge sits at the right end of the tabs, where it fits at 80 columns
    // whatever the header already holds; a long file name is shortened, never the count.
    if let Some(c) = &s.changes {
        let room = (area.width as usize).saturating_sub(tabs.width() + 1);
        let badge = truncate(&c.badge(), room);
        let w = crate::console::widgets::text_width(&badge) as u16;
        if w > 0 {
            let r = Rect {
                x: area.x + area.width - w,
                width: w,
                ..area
            };
            f.render_widget(Paragraph::new(Span::styled(badge, theme.warn)), r);
        }
    }
    f.render_widget(Paragraph::new(tabs), area);
}

/// The list of differences since the older snapshot, over the pane: `scimdesk diff`'s
/// table, its column header fixed, the rest scrolled.
fn draw_changes(
    f: &mut Frame,
    area: Rect,
    c: &crate::console::changes::Changes,
    scroll: usize,
    theme: &Theme,
) {
    let lines = c.lines();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focus_border);
    let inner = block.inner(area);
    let note = u16::from(c.other_org().is_some());
    let rows = inner.height.saturating_sub(1 + note) as usize;
    let body = &lines[1.min(lines.len())..];
    let scroll = scroll.min(body.len().saturating_sub(rows));
    let shown = body.len().min(rows);
    let mut title = format!(" Changes since {} ", c.against());
    if body.len() > rows {
        title.push_str(&format!(
            "· {}–{} of {} ",
            scroll + 1,
            scroll + shown,
            body.len()
        ));
    }
    let mut out = Vec::with_capacity(shown + 1);
    if let Some(other) = c.other_org() {
        out.push(Line::styled(
            format!("note: {} is of another organization ({other})", c.against()),
            theme.warn,
        ));
    }
    out.push(Line::styled(
        lines.first().cloned().unwrap_or_default(),
        theme.title,
    ));
    for l in &body[scroll..scroll + shown] {
        let style = match l.chars().next() {
            Some('+') => theme.ok,
            Some('-') => theme.error,
            Some('~') => theme.warn,
            _ => theme.base,
        };
        out.push(Line::styled(l.clone(), style));
    }
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(out).block(block.title(title)), area);
}

fn draw_bottom(f: &mut Frame, area: Rect, s: &State, theme: &Theme) {
    let line = match &s.mode {
        Mode::Command { line, .. } => {
            let mut spans = vec![Span::styled(":", theme.key)];
            spans.extend(line.spans(theme.base, theme.selected));
            let used = Line::from(spans.clone()).width() as u16 + 2;
            spans.push(Span::raw("  "));
            spans.extend(
                context_hint_line(
                    &s.keymap,
                    Context::Command,
                    theme,
                    area.width.saturating_sub(used),
                )
                .spans,
            );
            Line::from(spans)
        }
        Mode::Filter(line) => {
            let mut spans = vec![Span::styled("/", theme.key)];
            spans.extend(line.spans(theme.base, theme.selected));
            let used = Line::from(spans.clone()).width() as u16 + 2;
            spans.push(Span::raw("  "));
            spans.extend(
                context_hint_line(
                    &s.keymap,
                    Context::Field,
                    theme,
                    area.width.saturating_sub(used),
                )
                .spans,
            );
            Line::from(spans)
        }
        Mode::Confirm(_) => context_hint_line(&s.keymap, Context::Dialog, theme, area.width),
        Mode::Help { typing: true, .. } => {
            context_hint_line(&s.keymap, Context::Field, theme, area.width)
        }
        Mode::Help { .. } => context_hint_line(&s.keymap, Context::Help, theme, area.width),
        Mode::Changes { .. } | Mode::Messages { .. } => Line::from(vec![
            Span::styled("j/k", theme.key),
            Span::raw(" scroll  "),
            Span::styled("PgUp/PgDn", theme.key),
            Span::raw(" page  "),
            Span::styled("g/G", theme.key),
            Span::raw(" first/last  "),
            Span::styled("Esc", theme.key),
            Span::raw(" close"),
        ]),
        _ => match (s.pane_ref(s.pane).input(), s.pane_ref(s.pane).hints()) {
            (Some(context), _) => context_hint_line(&s.keymap, context, theme, area.width),
            (None, Some(hints)) => mode_hint_line(&s.keymap, s.pane, hints, theme, area.width),
            (None, None) => hint_line(&s.keymap, s.pane, theme, area.width),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The hint bar: the bindings marked with a hint, pane first, as many as fit.
pub fn hint_line(km: &Keymap, pane: PaneId, theme: &Theme, width: u16) -> Line<'static> {
    let items = km
        .active(pane)
        .filter_map(|b| Some((b.keys.first()?.to_string(), b.hint?)));
    fit_hints(items, theme, width)
}

/// The hint bar while an input has the keyboard: its context's hinted bindings, and where
/// text is typed, the text keys' too.
pub fn context_hint_line(
    km: &Keymap,
    context: Context,
    theme: &Theme,
    width: u16,
) -> Line<'static> {
    let text = context
        .takes_text()
        .then(|| km.in_context(Context::Text))
        .into_iter()
        .flatten();
    let items = km
        .in_context(context)
        .chain(text)
        .filter_map(|b| Some((b.keys.first()?.to_string(), b.hint?)));
    fit_hints(items, theme, width)
}

/// The hint bar of a pane's own mode: each action with the first key the keymap binds to it
/// (an action with no key, or a read-only one on a snapshot, is left out), as many as fit.
pub fn mode_hint_line(
    km: &Keymap,
    pane: PaneId,
    hints: &[(Action, &'static str)],
    theme: &Theme,
    width: u16,
) -> Line<'static> {
    let items = hints.iter().filter_map(|(action, hint)| {
        let b = km.active(pane).find(|b| b.action == *action)?;
        Some((b.keys.first()?.to_string(), *hint))
    });
    fit_hints(items, theme, width)
}

/// `key hint` pairs in order, as many as fit in `width`.
fn fit_hints<'a>(
    items: impl Iterator<Item = (String, &'a str)>,
    theme: &Theme,
    width: u16,
) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0usize;
    for (key, hint) in items {
        let len = key.len() + hint.len() + 3;
        if used + len > width as usize {
            break;
        }
        used += len;
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::raw(format!(" {hint}  ")));
    }
    Line::from(spans)
}

/// The colour of a notice's level (its symbol says it without colour).
fn level_style(l: Level, theme: &Theme) -> ratatui::style::Style {
    match l {
        Level::Info => theme.base,
        Level::Success => theme.ok,
        Level::Error => theme.error,
    }
}

/// Toasts stacked at the bottom right of the body, newest lowest; a long one wraps onto as
/// many lines as it needs (at most four, then `… :messages` holds the rest).
fn draw_toasts(f: &mut Frame, body: Rect, s: &State, theme: &Theme) {
    const MAX_LINES: usize = 4;
    if s.toasts.is_empty() {
        return;
    }
    let width = body.width.saturating_sub(4).min(76);
    let text_w = width.saturating_sub(2) as usize;
    let mut blocks: Vec<(ratatui::style::Style, Vec<String>)> = Vec::new();
    for (t, _) in &s.toasts {
        let style = level_style(t.level, theme);
        let mut lines = crate::console::panes::common::fmt::wrap(&t.text, text_w);
        if lines.len() > MAX_LINES {
            lines.truncate(MAX_LINES);
            let last = &mut lines[MAX_LINES - 1];
            *last = crate::console::widgets::truncate(last, text_w.saturating_sub(12));
            last.push_str(" … :messages");
        }
        blocks.push((style, lines));
    }
    // Newest last and lowest; what does not fit above the body's top is left out (older first).
    let mut bottom = body.y + body.height.saturating_sub(1);
    for (i, (style, lines)) in blocks.iter().enumerate().rev() {
        let h = lines.len() as u16;
        if bottom < body.y + h {
            break;
        }
        let y = bottom - h;
        let r = Rect {
            x: body.x + body.width - width - 1,
            y,
            width,
            height: h,
        };
        let symbol = crate::console::app::level_symbol(s.toasts[i].0.level);
        let text: Vec<Line> = lines
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let lead = if j == 0 { symbol } else { " " };
                Line::from(vec![
                    Span::styled(format!("{lead} "), *style),
                    Span::styled(l.clone(), *style),
                ])
            })
            .collect();
        f.render_widget(Clear, r);
        f.render_widget(Paragraph::new(text), r);
        bottom = y;
    }
}

/// `:messages`: every notice of the session, whole and newest first, over the body.
fn draw_messages(f: &mut Frame, area: Rect, s: &State, scroll: usize, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focus_border);
    let inner = block.inner(area);
    let lines = s.message_lines(inner.width as usize);
    let rows = inner.height as usize;
    let scroll = scroll.min(lines.len().saturating_sub(rows));
    let mut title = format!(
        " Messages ({}, newest first) · Esc closes ",
        s.messages.len()
    );
    if lines.len() > rows {
        title.push_str(&format!(
            "· {}–{} of {} lines ",
            scroll + 1,
            (scroll + rows).min(lines.len()),
            lines.len()
        ));
    }
    let out: Vec<Line> = if lines.is_empty() {
        vec![Line::styled("No message yet in this session.", theme.dim)]
    } else {
        lines
            .iter()
            .skip(scroll)
            .take(rows)
            .map(|(level, l)| {
                let style = level_style(*level, theme);
                Line::styled(l.clone(), style)
            })
            .collect()
    };
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(out).block(block.title(title)), area);
}

/// The `?` help: every key of every pane and input, scrolled, and searched with `/`.
fn draw_help(
    f: &mut Frame,
    area: Rect,
    s: &State,
    (scroll, search, typing): (usize, &crate::console::widgets::line::LineEdit, bool),
    theme: &Theme,
) {
    let all = s.keymap.help_lines(s.pane, search.text());
    let total = all.len();
    let mut lines: Vec<Line> = Vec::new();
    if typing || !search.is_empty() {
        let mut spans = vec![Span::styled("/", theme.key)];
        spans.extend(search.spans(theme.title, theme.key.add_modifier(Modifier::REVERSED)));
        lines.push(Line::from(spans));
    }
    if total == 0 {
        lines.push(Line::from("no key matches"));
    }
    // Wide screens get the words whole.
    let r_w = if area.width >= 120 {
        110
    } else {
        76.min(area.width)
    };
    // Room for the words beside the key column, inside the border.
    let room = (r_w as usize).saturating_sub(2 + 16);
    lines.extend(all.into_iter().skip(scroll).map(|l| match l {
        HelpLine::Heading(h) => Line::styled(h, theme.title),
        HelpLine::Key(k, help) => Line::from(vec![
            Span::styled(format!("{k:>14}  "), theme.key),
            Span::raw(crate::console::widgets::truncate(help, room)),
        ]),
    }));
    let h = (lines.len() as u16 + 2).min(area.height);
    let shown = h.saturating_sub(2) as usize;
    let end = (scroll + shown).min(total);
    let title = format!(
        " Keys {}-{end} of {total} · / search · Esc closes ",
        (scroll + 1).min(total)
    );
    let r = centered(area, r_w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.focus_border)
                .title(title),
        ),
        r,
    );
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
