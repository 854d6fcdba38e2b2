//! Drawing the SCIM pane: settings, discovery, tokens and the dialogs.

use super::*;
use crate::console::widgets::truncate;

/// A setting's old value as the diff words it (`true`, `false`), in the pane's words.
pub(super) fn on_off(v: &str) -> &str {
    match v {
        "true" => "on",
        "false" => "off",
        other => other,
    }
}

/// A refusal in words: time, status, `scimType`, method, the path under the org's SCIM root
/// (`/Users/…`) and the server's detail.
pub(super) fn refusal_text(r: &crate::client::Refusal) -> String {
    let path = r
        .path
        .strip_prefix(crate::scim::SCIM_PREFIX)
        .and_then(|p| p.strip_prefix('/'))
        .and_then(|p| p.find('/').map(|i| &p[i..]))
        .unwrap_or(&r.path);
    let kind = r.scim_type.as_deref().unwrap_or("-");
    format!(
        "{} {} {kind} {} {path}: {}",
        short_time(&r.at, TimeWidth::Seconds),
        r.status,
        r.method,
        r.detail
    )
}

/// A setting's value as the settings box and dialog show it.
pub(super) fn setting_value(setting: Setting, s: &ScimSettings, theme: &Theme) -> Span<'static> {
    match setting {
        Setting::Enabled if s.enabled => Span::styled("● enabled", theme.ok),
        Setting::Enabled => Span::styled("○ disabled", theme.warn),
        other => flag(other.get(s), theme),
    }
}

pub(super) fn flag(on: bool, theme: &Theme) -> Span<'static> {
    if on {
        Span::styled("[x] on ", theme.ok)
    } else {
        Span::styled("[ ] off", theme.dim)
    }
}

/// Where the settings, the discovery summary, the SCIM URL line, the token list and the
/// refusals go in `area`. The settings box is as tall as its rows and warnings need; the
/// discovery summary sits beside it from 80 columns (and is left out below); the refusals box
/// shrinks to one line on a short screen. Paging moves by the token rows this shows.
pub(super) fn areas(area: Rect, warnings: &[String]) -> [Rect; 5] {
    let side = area.width >= 80;
    let settings_w = if side {
        area.width * 58 / 100
    } else {
        area.width
    };
    let text_w = settings_w.saturating_sub(2) as usize;
    let warning_rows: usize = warnings
        .iter()
        .map(|w| crate::console::panes::common::fmt::wrap(&format!("⚠ {w}"), text_w).len())
        .sum();
    // The five settings rows and the warnings, and the discovery summary's seven.
    let top_h = (2 + SETTING_ROWS + warning_rows as u16).max(if side { 8 } else { 0 });
    // A short screen keeps one line of refusals: their count, or the newest.
    let refusals_h = if area.height >= 21 { 5 } else { 1 };
    let [top, url, tokens, refusals] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(refusals_h),
    ])
    .areas(area);
    let [settings, spc] = if side {
        Layout::horizontal([Constraint::Length(settings_w), Constraint::Fill(1)]).areas(top)
    } else {
        [top, Rect::new(top.x, top.y, 0, 0)]
    };
    [settings, spc, url, tokens, refusals]
}

/// Rows of the settings box: SCIM, SSO role mapping and the three approval rules.
const SETTING_ROWS: u16 = 5;

impl ScimPane {
    pub(super) fn view_settings(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        // The one key that changes them, where they can be changed.
        let title = match vx.key(PaneId::Scim, Action::Settings) {
            Some(k) if !vx.read_only => format!(" SCIM settings · {k} edits "),
            _ => " SCIM settings ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(title);
        let Some(s) = &self.settings else {
            f.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        };
        // With a comparison, a mark column: `~` and the old value on what changed.
        let changes = vx.changes;
        let row = |setting: Setting| {
            let name = match setting {
                Setting::Enabled => "enabled",
                Setting::SsoRoleMapping => "sso_role_mapping",
                Setting::ApproveProvision => "approval.provision",
                Setting::ApproveAccessIncrease => "approval.access_increase",
                Setting::ApproveDeprovision => "approval.deprovision",
            };
            let label = setting.label();
            let mut spans = Vec::new();
            let changed = changes.and_then(|c| c.setting(name));
            if changes.is_some() {
                spans.push(Span::styled(
                    if changed.is_some() { "~ " } else { "  " },
                    theme.warn,
                ));
                spans.push(Span::raw(format!("{label:<24}")));
            } else {
                spans.push(Span::raw(format!("{label:<26}")));
            }
            spans.push(setting_value(setting, s, theme));
            if let Some(c) = changed {
                spans.push(Span::styled(
                    format!(" (was {})", on_off(&c.from)),
                    theme.warn,
                ));
            }
            Line::from(spans)
        };
        let mut lines: Vec<Line> = Setting::ALL.into_iter().map(row).collect();
        // Wrapped here, as `areas` counted them, so the box holds every line.
        let text_w = area.width.saturating_sub(2) as usize;
        for w in &s.warnings {
            for l in crate::console::panes::common::fmt::wrap(&format!("⚠ {}", w.message), text_w)
            {
                lines.push(Line::styled(l, theme.warn));
            }
        }
        f.render_widget(Paragraph::new(lines).block(block), area);
    }

    pub(super) fn view_spc(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(" ServiceProviderConfig ");
        let lines = match &self.spc {
            None => vec![Line::from("loading…")],
            Some((Value::String(err), _)) => vec![Line::styled(format!("✗ {err}"), theme.error)],
            // Nothing to show, and why (a snapshot that did not record it).
            Some((Value::Null, note)) => {
                let w = area.width.saturating_sub(2) as usize;
                crate::console::panes::common::fmt::wrap(note.as_deref().unwrap_or("none"), w)
                    .into_iter()
                    .map(|l| Line::styled(l, theme.dim))
                    .collect()
            }
            Some((doc, note)) => {
                let sup = |k: &str| {
                    doc.pointer(&format!("/{k}/supported"))
                        .and_then(Value::as_bool)
                };
                let yn = |b: Option<bool>| match b {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "?",
                };
                let max = doc
                    .pointer("/filter/maxResults")
                    .and_then(Value::as_u64)
                    .map(|m| format!(" (max {m})"))
                    .unwrap_or_default();
                let auth = doc
                    .pointer("/authenticationSchemes/0/name")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let cursor = doc.pointer("/pagination/cursor").and_then(Value::as_bool);
                let mut l = vec![
                    Line::from(format!(
                        "PATCH {}  Bulk {}",
                        yn(sup("patch")),
                        yn(sup("bulk"))
                    )),
                    Line::from(format!("Filter {}{max}", yn(sup("filter")))),
                    Line::from(format!(
                        "Sort {}  ETag {}  Cursors {}",
                        yn(sup("sort")),
                        yn(sup("etag")),
                        yn(cursor)
                    )),
                    Line::from(format!("Change password {}", yn(sup("changePassword")))),
                    Line::from(format!("Auth: {auth}")),
                ];
                if let Some(n) = note {
                    l.push(Line::styled(n.clone(), theme.dim));
                }
                l
            }
        };
        f.render_widget(Paragraph::new(lines).block(block), area);
    }

    /// The URL an IdP must be given, on one line; `y` copies it whole even when it is cut.
    pub(super) fn view_url(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let (lead, tail) = ("SCIM URL ", "  y copies");
        let url = match self.shown_url() {
            "" if vx.read_only => "not in the snapshot (this export did not record it)",
            "" => "unknown",
            u => u,
        };
        let width = area.width as usize;
        let n = lead.len() + url.chars().count();
        // The whole URL first; the `y` hint only where it fits (the footer offers `y` too).
        let mut spans = vec![Span::styled(lead, theme.title)];
        if self.shown_url().is_empty() {
            spans.push(Span::styled(
                truncate(url, width.saturating_sub(lead.len())),
                theme.dim,
            ));
        } else if n + tail.len() <= width {
            spans.push(Span::raw(url.to_string()));
            spans.push(Span::styled(tail, theme.dim));
        } else {
            spans.push(Span::raw(truncate(url, width.saturating_sub(lead.len()))));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    /// The selected token's last refusals, newest first: what the IdP was told and why.
    pub(super) fn view_refusals(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let Some(t) = self.selected_token() else {
            return;
        };
        let act = self.activity.tokens.get(&t.id);
        let refusals = act.map(|a| a.refusals.as_slice()).unwrap_or_default();
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(format!(
                " Refused requests of '{}' ({}) ",
                t.label,
                refusals.len()
            ));
        if area.height < 3 {
            let newest = refusals
                .first()
                .map(|r| format!(": newest {} {} {}", r.status, r.method, r.detail))
                .unwrap_or_default();
            let line = format!(
                "Refused requests of '{}': {}{newest}",
                t.label,
                refusals.len()
            );
            let style = if refusals.is_empty() {
                theme.dim
            } else {
                theme.error
            };
            f.render_widget(
                Paragraph::new(Line::styled(truncate(&line, area.width as usize), style)),
                area,
            );
            return;
        }
        let lines: Vec<Line> = if refusals.is_empty() {
            let last = act
                .and_then(|a| a.last_request_at.as_deref())
                .map(|at| format!("last request {}", short_time(at, TimeWidth::Seconds)))
                .unwrap_or_else(|| "no request seen by this server process".into());
            vec![Line::styled(format!("none · {last}"), theme.dim)]
        } else {
            // Each on one line, cut with `…`; Enter shows them whole.
            let w = area.width.saturating_sub(2) as usize;
            refusals
                .iter()
                .map(|r| Line::styled(truncate(&refusal_text(r), w), theme.error))
                .collect()
        };
        f.render_widget(Paragraph::new(lines).block(block), area);
    }

    /// Enter: the selected token's refusals whole, wrapped, over the pane.
    pub(super) fn view_refusals_whole(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let Some(t) = self.selected_token() else {
            return;
        };
        let refusals = self
            .activity
            .tokens
            .get(&t.id)
            .map(|a| a.refusals.as_slice())
            .unwrap_or_default();
        let w = area.width.saturating_sub(2) as usize;
        let mut lines: Vec<Line> = Vec::new();
        if refusals.is_empty() {
            lines.push(Line::styled("none", theme.dim));
        }
        for r in refusals {
            for (i, l) in
                crate::console::panes::common::fmt::wrap(&refusal_text(r), w.saturating_sub(2))
                    .into_iter()
                    .enumerate()
            {
                let lead = if i == 0 { "" } else { "  " };
                lines.push(Line::styled(format!("{lead}{l}"), theme.error));
            }
        }
        f.render_widget(Clear, area);
        f.render_widget(
            Paragraph::new(lines)
                .scroll((self.refusals_scroll, 0))
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(theme.focus_border)
                        .title(format!(
                            " Refused requests of '{}' ({}) · Esc back ",
                            t.label,
                            refusals.len()
                        )),
                ),
            area,
        );
    }

    pub(super) fn view_tokens(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let mut title = format!(" SCIM tokens ({}) ", self.tokens.total);
        if let Some(c) = vx.changes.and_then(|c| c.setting("tokens")) {
            title.push_str(&format!("~ changed: was {} ", c.from));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(title);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let ts = &self.tokens;
        if !ts.loaded {
            f.render_widget(Paragraph::new("loading…"), inner);
            return;
        }
        if ts.rows.is_empty() {
            f.render_widget(
                Paragraph::new("No SCIM tokens: press n to create one for your IdP."),
                inner,
            );
            return;
        }
        // Below 70 columns the times are shorter and the creation time is left out (the
        // label keeps its room).
        let narrow = inner.width < 70;
        let when = if narrow {
            TimeWidth::MonthDay
        } else {
            TimeWidth::Seconds
        };
        let time = |t: &str| short_time(t, when);
        let mut widths = vec![
            Constraint::Fill(1),
            Constraint::Length(19),
            Constraint::Length(19),
            Constraint::Length(14),
        ];
        let mut header = vec!["LABEL", "CREATED", "LAST USED", "1h 2xx/4xx/5xx"];
        if narrow {
            widths.remove(1);
            header.remove(1);
            widths[1] = Constraint::Length(11);
        }
        let label_w = crate::console::widgets::list::cell_widths(inner, &widths)[0];
        render_list(
            f,
            inner,
            Some(Row::new(header)),
            &widths,
            ts.rows.len(),
            &ts.win,
            true,
            &theme.widget_style(),
            |i| {
                let t = &ts.rows[i];
                let mut cells = vec![
                    crate::console::widgets::truncate(&t.label, label_w),
                    time(&t.created_at),
                    t.last_used_at
                        .as_deref()
                        .map(time)
                        .unwrap_or_else(|| "never".into()),
                    match self.activity.tokens.get(&t.id) {
                        Some(a) => {
                            let h = a.last_hour;
                            format!("{}/{}/{}", h.ok, h.client, h.server)
                        }
                        None => "-".into(),
                    },
                ];
                if narrow {
                    cells.remove(1);
                }
                Row::new(cells)
            },
        );
    }
}

pub(super) fn view_dialog(
    f: &mut Frame,
    area: Rect,
    d: &Dialog,
    settings: Option<&ScimSettings>,
    theme: &Theme,
) {
    let (title, lines, style) = match d {
        Dialog::Confirm(Ask { confirm, .. }) => {
            confirm.render(f, area, &theme.widget_style());
            return;
        }
        Dialog::NewToken { label } => (
            " New SCIM token ".to_string(),
            vec![
                Line::from("Label (which IdP uses it):"),
                Line::from(
                    std::iter::once(Span::raw("> "))
                        .chain(label.spans(theme.base, theme.selected))
                        .collect::<Vec<_>>(),
                ),
                Line::from(""),
                Line::styled("Enter creates · Esc cancels", theme.dim),
            ],
            theme.focus_border,
        ),
        Dialog::Secret(t) => {
            view_secret(f, area, t, theme);
            return;
        }
        Dialog::Settings { selected } => {
            let Some(s) = settings else {
                return;
            };
            let mut lines: Vec<Line> = Setting::ALL
                .into_iter()
                .enumerate()
                .map(|(i, setting)| {
                    let (mark, style) = if i == *selected {
                        ("▸ ", theme.selected)
                    } else {
                        ("  ", theme.base)
                    };
                    Line::from(vec![
                        Span::styled(format!("{mark}{:<26}", setting.label()), style),
                        setting_value(setting, s, theme),
                    ])
                })
                .collect();
            lines.push(Line::from(""));
            lines.push(Line::styled(
                "What widens access or stops a review asks first.",
                theme.dim,
            ));
            (" SCIM settings ".to_string(), lines, theme.focus_border)
        }
    };
    let h = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, 74.min(area.width), h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(style)
                    .title(title),
            )
            .wrap(Wrap { trim: false }),
        r,
    );
}

/// The new token's secret, whole and readable at any size: on one line where it fits (the
/// window widens to hold it), else cut into lines of the window's width (no character lost,
/// the note says to join them), so that it never depends on the clipboard reaching the user.
pub(super) fn view_secret(f: &mut Frame, area: Rect, t: &IssuedToken, theme: &Theme) {
    let need = t.token.chars().count() as u16;
    let w = (need + 4).max(74).min(area.width);
    let inner = w.saturating_sub(2).max(1) as usize;
    let chars: Vec<char> = t.token.chars().collect();
    let pieces: Vec<String> = chars.chunks(inner).map(|c| c.iter().collect()).collect();
    let mut secret: Vec<Line> = pieces
        .iter()
        .map(|p| Line::styled(p.clone(), theme.ok))
        .collect();
    if pieces.len() > 1 {
        secret.push(Line::styled(
            format!("({} lines: join them, no spaces)", pieces.len()),
            theme.dim,
        ));
    }
    let mut lines = vec![Line::styled(
        "Shown only now: copy it into the IdP.",
        theme.warn,
    )];
    lines.extend(secret);
    lines.extend([
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.key),
            Span::raw(" copy (OSC 52) · Esc or Enter closes"),
        ]),
    ]);
    let h = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    // No wrap: each line stays one line.
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.ok)
                .title(format!(" Token '{}' ", t.label)),
        ),
        r,
    );
}
