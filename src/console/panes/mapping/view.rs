//! Drawing the Group Mapping pane: the list and its detail, the editor and the impact of
//! saving, and the words both use.

use super::*;

/// Where the group list and the selected group's detail go in `area`: beside each other from
/// 110 columns, the detail under the list below that. Paging moves by the list rows shown.
pub(super) fn list_areas(area: Rect) -> [Rect; 2] {
    if area.width >= 110 {
        Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(area)
    } else {
        Layout::vertical([Constraint::Min(5), Constraint::Length(9)]).areas(area)
    }
}

impl MappingPane {
    pub(super) fn view_list(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(format!(" SCIM groups ({}) ", self.groups.total));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let g = &self.groups;
        if !g.loaded {
            f.render_widget(Paragraph::new("loading…"), inner);
            return;
        }
        if g.rows.is_empty() {
            let text = if self.filter.is_empty() {
                "No SCIM groups yet: the IdP pushes them once SCIM is enabled (SCIM pane)."
            } else {
                "No group matches the filter."
            };
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
            return;
        }
        // With a comparison, a narrow first column marks the groups whose mapping changed
        // since OLD (`+`, `-`, `~`); the detail panel says what in words.
        let changes = vx.changes;
        let mut header = vec!["GROUP", "MEMBERS", "MAPPING"];
        let name_w = g
            .rows
            .iter()
            .map(|x| x.display_name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(10, (inner.width as usize / 3).max(10)) as u16;
        let mut widths = vec![
            Constraint::Length(name_w),
            Constraint::Length(7),
            Constraint::Fill(1),
        ];
        if changes.is_some() {
            header.insert(0, "Δ");
            widths.insert(0, Constraint::Length(1));
        }
        let cw = crate::console::widgets::list::cell_widths(inner, &widths);
        let off = usize::from(changes.is_some());
        render_list(
            f,
            inner,
            Some(Row::new(header)),
            &widths,
            g.rows.len(),
            &g.win,
            true,
            &theme.widget_style(),
            |i| {
                let x = &g.rows[i];
                let mut cells = Vec::with_capacity(4);
                if let Some(c) = changes {
                    cells.push(match c.group(&x.id) {
                        Some(gc) => Cell::from(Span::styled(gc.mark(), theme.warn)),
                        None => Cell::from(" "),
                    });
                }
                cells.push(Cell::from(crate::console::widgets::truncate(
                    &x.display_name,
                    cw[off],
                )));
                cells.push(Cell::from(
                    Line::from(x.member_count.to_string()).right_aligned(),
                ));
                cells.push(match &x.mapping {
                    Some(m) => {
                        Cell::from(crate::console::widgets::truncate(&summary(m), cw[off + 2]))
                    }
                    None => Cell::from(Span::styled("— not mapped", theme.dim)),
                });
                Row::new(cells)
            },
        );
    }

    /// What changed about this group since OLD, in words (see [`super::change_lines`]).
    pub(super) fn change_lines(&self, group_id: &str, vx: &ViewCtx) -> Vec<Line<'static>> {
        let theme = &vx.theme;
        match vx.changes {
            Some(c) => crate::console::panes::change_lines(
                c.against(),
                c.group(group_id).map(|x| x.parts()).unwrap_or_default(),
                theme,
            ),
            None => Vec::new(),
        }
    }

    pub(super) fn view_detail(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let g = self.selected_group();
        let title = match g {
            Some(g) => format!(" {} ", g.display_name),
            None => " Mapping ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(title);
        let mut lines = Vec::new();
        match g {
            None => {}
            Some(g) => match &g.mapping {
                None => {
                    lines.push(Line::from(format!(
                        "{}; not mapped: its members are Members with no stack role.",
                        members(g.member_count)
                    )));
                }
                Some(m) => {
                    lines.push(Line::from(vec![
                        Span::raw(format!("{} · org role ", members(g.member_count))),
                        Span::styled(m.org_role.to_string(), theme.title),
                    ]));
                    if m.stack_roles.is_empty() {
                        lines.push(Line::styled("no stack roles", theme.dim));
                    }
                    // Grouped per stack, in the order the server lists the roles.
                    let mut stacks: Vec<(&str, Vec<&str>)> = Vec::new();
                    for r in by_name(m) {
                        match stacks.iter_mut().find(|(s, _)| *s == r.stack_name) {
                            Some((_, v)) => v.push(&r.role_name),
                            None => stacks.push((&r.stack_name, vec![&r.role_name])),
                        }
                    }
                    for (s, roles) in stacks {
                        lines.push(Line::from(format!("  {s}: {}", roles.join(", "))));
                    }
                    if let (Some(at), Some(by)) = (&m.updated_at, &m.updated_by) {
                        lines.push(Line::styled(
                            format!("updated {} by {by}", short_time(at, TimeWidth::Seconds)),
                            theme.dim,
                        ));
                    }
                }
            },
        }
        // What changed since OLD goes right under the first line, where a short panel
        // still shows it.
        if let Some(g) = g
            && !lines.is_empty()
        {
            let changed = self.change_lines(&g.id, vx);
            lines.splice(1..1, changed);
        }
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }

    pub(super) fn view_editor(&self, f: &mut Frame, area: Rect, e: &Editor, vx: &ViewCtx) {
        let theme = &vx.theme;
        let (form, impact) = if area.width >= 110 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .areas(area);
            (a, b)
        } else {
            let want = self.rows() as u16 + 6;
            let [a, b] =
                Layout::vertical([Constraint::Length(want), Constraint::Min(4)]).areas(area);
            (a, b)
        };
        self.view_form(f, form, e, theme);
        let whole = vx.key(PaneId::Mapping, Action::Impact);
        view_impact(f, impact, e, theme, whole.as_deref());
    }

    pub(super) fn view_form(&self, f: &mut Frame, area: Rect, e: &Editor, theme: &Theme) {
        // A group that has a mapping is edited, even when picked under `n`.
        let title = match (&e.group, e.baseline.is_some()) {
            (Some(t), true) => format!(" Edit mapping · {} ", t.name),
            (Some(t), false) => format!(" New mapping · {} ", t.name),
            (None, _) => " New mapping ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(title);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let width = inner.width as usize;
        let label_w = self
            .stack_list()
            .iter()
            .map(|s| crate::console::widgets::text_width(&s.name))
            .max()
            .unwrap_or(0)
            .clamp(10, 24);
        let value_w = width.saturating_sub(label_w + 6);
        let base = e.baseline.clone().unwrap_or_default();
        let row = |i: usize, label: &str, value: String, changed: bool, choosable: bool| {
            let here = i == e.focus;
            let mark = if here { "› " } else { "  " };
            let star = if changed { "*" } else { " " };
            let arrow = if choosable { " ▾" } else { "" };
            let text = format!(
                "{mark}{star}{} {}{arrow}",
                crate::console::widgets::fit(label, label_w),
                truncate(&value, value_w)
            );
            if here {
                Line::styled(text, theme.selected)
            } else {
                Line::from(text)
            }
        };
        let group = match &e.group {
            Some(t) => format!("{} · {}", t.name, members(t.members)),
            None => "(choose a group)".to_string(),
        };
        let mut lines = vec![
            row(0, "Group", group, false, e.is_new),
            row(
                1,
                "Org role",
                e.draft.org_role.to_string(),
                e.group.is_some() && e.draft.org_role != base.org_role,
                true,
            ),
            Line::styled("  Stack roles", theme.title),
        ];
        for (i, s) in self.stack_list().iter().enumerate() {
            let ticked = e.draft.roles_on(&s.uid);
            let names: Vec<&str> = s
                .roles
                .iter()
                .filter(|r| ticked.contains(&r.uid))
                .map(|r| r.name.as_str())
                .collect();
            let value = if names.is_empty() {
                "— none".to_string()
            } else {
                names.join(", ")
            };
            let changed = e.group.is_some() && ticked != base.roles_on(&s.uid);
            lines.push(row(2 + i, &s.name, value, changed, true));
        }
        match &self.stacks {
            None => lines.push(Line::styled("  loading stacks…", theme.dim)),
            Some(s) if s.is_empty() => lines.push(Line::styled(
                "  no stacks yet: create one with POST …/stacks",
                theme.dim,
            )),
            Some(_) => {}
        }
        lines.push(Line::from(""));
        let state = if e.saving {
            Span::styled("saving…", theme.dim)
        } else if e.dirty() {
            Span::styled("* unsaved edits", theme.warn)
        } else {
            Span::styled("no unsaved edits", theme.dim)
        };
        lines.push(Line::from(state));
        lines.push(Line::styled(
            "Enter choose · Ctrl-s save · Esc back",
            theme.dim,
        ));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}

/// The impact of saving in the editor, as far as `area` has room (key `whole` shows it whole).
pub(super) fn view_impact(
    f: &mut Frame,
    area: Rect,
    e: &Editor,
    theme: &Theme,
    whole: Option<&str>,
) {
    let title = match whole {
        Some(k) => format!(" Impact of saving · {k} whole "),
        None => " Impact of saving ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines = impact_lines(e, theme, inner.width as usize, Some(inner.height as usize));
    f.render_widget(Paragraph::new(lines), inner);
}

/// `i` in the editor: the impact of saving over the whole pane, every line, scrolled.
pub(super) fn view_impact_whole(f: &mut Frame, area: Rect, e: &Editor, scroll: u16, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focus_border)
        .title(" Impact of saving (whole) · Esc back ");
    let inner = block.inner(area);
    f.render_widget(ratatui::widgets::Clear, area);
    f.render_widget(block, area);
    let lines = impact_lines(e, theme, inner.width as usize, None);
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

/// The impact's lines at `width`; with a `height`, the member lists are cut to fit it (with
/// `… and N more`), without one every row the server sent is there.
fn impact_lines(
    e: &Editor,
    theme: &Theme,
    width: usize,
    height: Option<usize>,
) -> Vec<Line<'static>> {
    let whole = height.is_none();
    let height = height.unwrap_or(usize::MAX);
    let text = |s: &str, style| -> Vec<Line<'static>> {
        wrap_words(s, width)
            .into_iter()
            .map(|l| Line::styled(l, style))
            .collect()
    };
    let mut lines: Vec<Line> = match (&e.group, &e.impact) {
        (None, _) => text("Choose a group first.", theme.dim),
        (Some(_), Impact::Unchanged) => text(
            "Nothing to save yet: change a role to see what saving would do.",
            theme.dim,
        ),
        (Some(_), Impact::Loading) => text("asking the server…", theme.dim),
        (Some(_), Impact::Failed(why)) => text(&format!("✗ preview failed: {why}"), theme.error),
        (Some(_), Impact::Ready(p)) => {
            let mut l = Vec::new();
            for s in impact_sentences(p) {
                let style = if s.starts_with('+') || s.starts_with('↑') {
                    theme.ok
                } else if s.starts_with('−') || s.starts_with('↓') {
                    theme.warn
                } else {
                    theme.base
                };
                l.extend(text(&s, style));
            }
            l.extend(text(&impact_totals(p), theme.dim));
            l
        }
    };
    if let (Some(_), Impact::Ready(p)) = (&e.group, &e.impact) {
        let sections = [
            (
                "At once:",
                who_changes(p),
                p.counts.granted_changes as usize,
            ),
            (
                "Pending requests:",
                whose_requests_change(p),
                p.counts.pending_changes as usize,
            ),
        ];
        for (title, rows, total) in sections {
            // A blank line, the title and at least one row, or nothing.
            let room = height.saturating_sub(lines.len());
            if rows.is_empty() || room < 3 {
                continue;
            }
            lines.push(Line::from(""));
            lines.push(Line::styled(title, theme.title));
            let room = room - 2;
            let fits = if rows.len().max(total) <= room {
                rows.len()
            } else {
                room - 1
            };
            for r in rows.iter().take(fits) {
                if whole {
                    for (i, l) in wrap_words(r, width.saturating_sub(4))
                        .into_iter()
                        .enumerate()
                    {
                        let lead = if i == 0 { "  " } else { "    " };
                        lines.push(Line::from(format!("{lead}{l}")));
                    }
                } else {
                    lines.push(Line::from(truncate(&format!("  {r}"), width)));
                }
            }
            if fits < total {
                lines.push(Line::styled(
                    format!("  … and {} more", total - fits),
                    theme.dim,
                ));
            }
        }
    }
    lines
}

/// "Admin · Developer on Mobile App +1": the org role, the first stack role and how many
/// more.
pub fn summary(m: &Mapping) -> String {
    let mut s = m.org_role.to_string();
    match by_name(m).first() {
        None => s.push_str(" · no stack roles"),
        Some(r) => {
            s.push_str(&format!(" · {} on {}", r.role_name, r.stack_name));
            if m.stack_roles.len() > 1 {
                s.push_str(&format!(" +{}", m.stack_roles.len() - 1));
            }
        }
    }
    s
}

/// A mapping's stack roles by stack name, then role name: the server's order follows uids,
/// which mean nothing to a reader.
pub(super) fn by_name(m: &Mapping) -> Vec<&StackRoleRef> {
    let mut v: Vec<&StackRoleRef> = m.stack_roles.iter().collect();
    v.sort_by(|a, b| (&a.stack_name, &a.role_name).cmp(&(&b.stack_name, &b.role_name)));
    v
}

/// The preview as sentences with counts, each led by a symbol so that colour is not needed:
/// `+` grants, `−` removals, `↑`/`↓` org role changes.
pub fn impact_sentences(p: &Preview) -> Vec<String> {
    // Org role first, then stacks by name: the server orders by uid.
    let mut roles: Vec<&crate::client::RoleCount> = p.counts.roles.iter().collect();
    roles.sort_by_key(|rc| match &rc.role {
        RoleRef::Org { .. } => (0, String::new(), String::new()),
        RoleRef::Stack(r) => (1, r.stack_name.clone(), r.role_name.clone()),
    });
    let mut out = Vec::new();
    for rc in roles {
        match &rc.role {
            RoleRef::Stack(r) => {
                if rc.gain > 0 {
                    out.push(format!(
                        "+ grants {} on {} to {}",
                        r.role_name,
                        r.stack_name,
                        members(rc.gain)
                    ));
                }
                if rc.lose > 0 {
                    out.push(format!(
                        "− removes {} on {} from {}",
                        r.role_name,
                        r.stack_name,
                        members(rc.lose)
                    ));
                }
            }
            RoleRef::Org { org_role } => {
                if rc.gain > 0 {
                    out.push(format!(
                        "↑ raises org role to {org_role} for {}",
                        members(rc.gain)
                    ));
                }
                if rc.lose > 0 {
                    // A SCIM member's org role comes from mappings, which never give Owner,
                    // so losing Admin always means Member.
                    if *org_role == OrgRole::Admin {
                        out.push(format!(
                            "↓ lowers org role to Member for {}",
                            members(rc.lose)
                        ));
                    } else {
                        out.push(format!(
                            "↓ lowers org role from {org_role} for {}",
                            members(rc.lose)
                        ));
                    }
                }
            }
        }
    }
    if out.is_empty() {
        out.push(format!(
            "no member's access changes ({} in the group)",
            members(p.counts.members)
        ));
    }
    out
}

/// The totals under the sentences.
pub(super) fn impact_totals(p: &Preview) -> String {
    let c = &p.counts;
    let mut s = format!(
        "{} of {} change at once",
        c.granted_changes,
        members(c.members)
    );
    if c.pending_changes > 0 {
        s.push_str(&format!(
            "; {} rewritten",
            plural(c.pending_changes, "pending request", "pending requests")
        ));
    }
    // A role's count is of every member the mapping gives it to (or takes it from); when one
    // is more than the members who change at once or through a request, say who the others
    // are, so that the two counts tell one story.
    let most = c
        .roles
        .iter()
        .map(|r| r.gain.max(r.lose))
        .max()
        .unwrap_or(0);
    if most > c.granted_changes + c.pending_changes {
        s.push_str(
            ". The counts above include members who are not active (pending without a \
             request to rewrite, rejected, deprovisioned): their access changes only through \
             an approval",
        );
    }
    s
}

/// Word wrap to `width` columns (the one every pane uses).
pub(super) use crate::console::panes::common::fmt::wrap as wrap_words;

/// One member's change in words: `Member → Admin, +Developer on Mobile App`.
pub(super) fn diff_words(d: &crate::client::Diff) -> String {
    let mut parts = Vec::new();
    match (d.org_role_from, d.org_role_to) {
        (a, b) if a == b => {}
        (Some(a), Some(b)) => parts.push(format!("{a} → {b}")),
        (None, Some(b)) => parts.push(format!("joins as {b}")),
        (Some(a), None) => parts.push(format!("leaves (was {a})")),
        (None, None) => {}
    }
    let mut gains: Vec<&StackRoleRef> = d.stack_gains.iter().collect();
    let mut losses: Vec<&StackRoleRef> = d.stack_losses.iter().collect();
    for v in [&mut gains, &mut losses] {
        v.sort_by(|a, b| (&a.stack_name, &a.role_name).cmp(&(&b.stack_name, &b.role_name)));
    }
    parts.extend(
        gains
            .iter()
            .map(|r| format!("+{} on {}", r.role_name, r.stack_name)),
    );
    parts.extend(
        losses
            .iter()
            .map(|r| format!("−{} on {}", r.role_name, r.stack_name)),
    );
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(", ")
    }
}

/// The members whose granted access a save changes, by email (the server's order follows ids).
pub(super) fn who_changes(p: &Preview) -> Vec<String> {
    let mut v: Vec<&crate::client::GrantedChange> = p.granted_changes.iter().collect();
    v.sort_by(|a, b| a.email.cmp(&b.email));
    v.iter()
        .map(|c| format!("{}  {}", c.email, diff_words(&c.diff)))
        .collect()
}

/// The open requests a save rewrites, with what each would then ask for.
pub(super) fn whose_requests_change(p: &Preview) -> Vec<String> {
    let mut v: Vec<&crate::client::PendingChange> = p.pending_changes.iter().collect();
    v.sort_by(|a, b| a.email.cmp(&b.email));
    v.iter()
        .map(|c| match &c.after {
            Some(d) => format!("{}  would ask: {}", c.email, diff_words(d)),
            None => format!("{}  nothing left to approve", c.email),
        })
        .collect()
}
