//! Drawing the Users pane: the two lists, the detail panel and the dialogs.

use super::*;

pub(super) fn state_words(m: &Member) -> String {
    let s = m.state.as_str();
    let waiting = m
        .request
        .as_ref()
        .is_some_and(|r| r.state == RequestState::Pending);
    if waiting && m.state != MemberState::Pending {
        format!("{s} ⧗")
    } else {
        s.to_string()
    }
}

/// A rejected member's rejection: who, when and why (the audit log keeps it too: `H`).
pub(super) fn rejection_lines(
    m: &Member,
    theme: &crate::console::theme::Theme,
) -> Vec<Line<'static>> {
    if m.state != MemberState::Rejected {
        return Vec::new();
    }
    let Some(r) = &m.rejection else {
        return vec![Line::styled(
            "✗ Rejected (H shows the history)",
            theme.error,
        )];
    };
    let by = r.decided_by.as_deref().unwrap_or("an admin");
    let when = r
        .decided_at
        .as_deref()
        .map(|t| format!(" on {} UTC", short_time(t, TimeWidth::Minutes)))
        .unwrap_or_default();
    let mut out = vec![Line::styled(
        format!("✗ Rejected by {by}{when}"),
        theme.error,
    )];
    out.push(Line::from(match &r.reason {
        Some(reason) => format!("  Reason: {reason}"),
        None => "  No reason was given".to_string(),
    }));
    out
}

pub(super) fn stack_cell(m: &Member) -> String {
    let roles = m
        .granted
        .as_ref()
        .map(|a| &a.stack_roles[..])
        .unwrap_or(&[]);
    match roles {
        [] => "—".into(),
        [one] => format!("{} on {}", one.role_name, one.stack_name),
        // The first role and how many more, as the mapping pane writes a mapping.
        [one, rest @ ..] => format!("{} on {} +{}", one.role_name, one.stack_name, rest.len()),
    }
}

pub(super) fn groups_cell(m: &Member) -> String {
    if m.groups.is_empty() {
        return "—".into();
    }
    m.groups
        .iter()
        .map(|g| g.display_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl UsersPane {
    /// Where the list (none while the detail is zoomed) and the detail panel go in `area`:
    /// the view draws there, and paging moves by the list rows this shows.
    pub(super) fn areas(&self, area: Rect) -> (Option<Rect>, Rect) {
        list_and_detail(area, self.zoomed, 44, 16)
    }

    /// The list rows on screen in the pane's `body`.
    pub(super) fn page(&self, body: Rect) -> usize {
        self.areas(body).0.map_or(1, table_rows)
    }

    pub(super) fn title(&self, vx: &ViewCtx) -> Line<'static> {
        let theme = &vx.theme;
        let tab = |label: String, on: bool| {
            if on {
                Span::styled(format!("▸{label}"), theme.title)
            } else {
                Span::styled(format!(" {label}"), theme.dim)
            }
        };
        let mut spans = vec![
            Span::raw(" "),
            tab(
                // Say what is counted: every state, or the one `s` picked.
                match self.state_filter {
                    None => format!("Members ({}, all states)", self.members.total),
                    Some(st) => format!("Members ({} {})", self.members.total, st.as_str()),
                },
                self.list == List::Members,
            ),
            Span::raw(" │"),
            tab(
                format!("Pending ({})", self.queue.total),
                self.list == List::Pending,
            ),
        ];
        if self.list == List::Members && (self.sort != UserSort::Email || self.desc) {
            let arrow = if self.desc { "↓" } else { "↑" };
            spans.push(Span::styled(
                format!(" · by {} {arrow}", self.sort.as_str()),
                theme.badge,
            ));
        }
        if !self.filter.is_empty() && self.list == List::Members {
            spans.push(Span::styled(format!(" /{}", self.filter), theme.badge));
        }
        if self.list == List::Pending && !self.marked.is_empty() {
            spans.push(Span::raw(format!(" · {} marked", self.marked.len())));
        }
        // Who left has no row: say how many, and where they are listed.
        if let Some(c) = vx.changes
            && self.list == List::Members
        {
            match c.left_count() {
                0 => {}
                n => spans.push(Span::styled(
                    format!(" · {n} left since {} — D lists them", c.against()),
                    theme.warn,
                )),
            }
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }

    pub(super) fn list_block(&self, vx: &ViewCtx) -> Block<'static> {
        let theme = &vx.theme;
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(self.title(vx))
    }

    pub(super) fn view_members(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let block = self.list_block(vx);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let m = &self.members;
        if let Some(e) = &self.error {
            f.render_widget(
                Paragraph::new(Line::styled(format!("✗ {e}"), theme.error))
                    .wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        if !m.loaded {
            f.render_widget(Paragraph::new("loading…"), inner);
            return;
        }
        if m.rows.is_empty() {
            let text = if let Some(st) = self.state_filter {
                format!(
                    "No {} member{} (s shows another state).",
                    st.as_str(),
                    if self.filter.is_empty() {
                        String::new()
                    } else {
                        format!(" matches '{}'", self.filter)
                    }
                )
            } else if self.filter.is_empty() {
                "No members yet: the IdP provisions them through SCIM.".to_string()
            } else {
                format!(
                    "No member matches '{}' (Esc clears the filter).",
                    self.filter
                )
            };
            f.render_widget(Paragraph::new(text), inner);
            return;
        }
        // With a comparison, a narrow first column marks who changed since OLD (`+`, `-`,
        // `~`), so the mark reads without colour; the detail panel says what in words.
        let changes = vx.changes;
        let mut header = vec!["NAME", "EMAIL", "STATE", "ROLE", "STACK ROLES", "GROUPS"];
        // From 100 columns names, emails and states get the width their longest loaded value
        // needs (within bounds), stack roles too, and groups take the rest; narrower, all
        // share by weight.
        let longest = |f: &dyn Fn(&Member) -> usize, lo: usize, hi: usize| {
            m.rows.iter().map(f).max().unwrap_or(0).clamp(lo, hi) as u16
        };
        let mut widths = if inner.width >= 100 {
            vec![
                Constraint::Length(longest(
                    &|x| x.display_name.as_deref().map_or(0, |n| n.chars().count()),
                    4,
                    24,
                )),
                Constraint::Length(longest(&|x| x.email.chars().count(), 5, 34)),
                Constraint::Length(longest(&|x| state_words(x).chars().count(), 5, 15)),
                Constraint::Length(6),
                Constraint::Length(longest(&|x| stack_cell(x).chars().count(), 11, 40)),
                Constraint::Fill(1),
            ]
        } else {
            vec![
                Constraint::Fill(2),
                Constraint::Fill(3),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Fill(2),
                Constraint::Fill(2),
            ]
        };
        if changes.is_some() {
            header.insert(0, "Δ");
            widths.insert(0, Constraint::Length(1));
        }
        // Names, emails and groups cut with `…` to their column; the detail shows them whole.
        let cw = cell_widths(inner, &widths);
        let off = usize::from(changes.is_some());
        let cut = |text: String, col: usize| truncate(&text, cw[off + col]);
        render_list(
            f,
            inner,
            Some(Row::new(header)),
            &widths,
            m.rows.len(),
            &m.win,
            true,
            &theme.widget_style(),
            |i| {
                let x = &m.rows[i];
                let mut cells = Vec::with_capacity(7);
                if let Some(c) = changes {
                    cells.push(match c.member(&x.id) {
                        Some(mc) => Cell::from(Span::styled(mc.mark(), theme.warn)),
                        None => Cell::from(" "),
                    });
                }
                cells.extend([
                    Cell::from(cut(x.display_name.clone().unwrap_or_default(), 0)),
                    Cell::from(cut(x.email.clone(), 1)),
                    Cell::from(cut(state_words(x), 2)),
                    Cell::from(
                        x.granted
                            .as_ref()
                            .map_or("—".to_string(), |a| a.org_role.to_string()),
                    ),
                    Cell::from(cut(stack_cell(x), 4)),
                    Cell::from(cut(groups_cell(x), 5)),
                ]);
                Row::new(cells)
            },
        );
    }

    pub(super) fn view_queue(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let block = self.list_block(vx);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let q = &self.queue;
        if !q.loaded {
            f.render_widget(Paragraph::new("loading…"), inner);
            return;
        }
        if q.rows.is_empty() {
            f.render_widget(Paragraph::new("✓ No request waits for approval."), inner);
            return;
        }
        // Below 70 columns the time goes and the diff shares the room with the member, so
        // that every row still says whose request it is.
        let narrow = inner.width < 70;
        let mut header = vec!["", "MEMBER", "CHANGE", "DIFF", "", "SINCE"];
        let mut widths = vec![
            Constraint::Length(3),
            Constraint::Fill(3),
            Constraint::Length(11),
            Constraint::Length(22),
            Constraint::Length(7),
            Constraint::Length(11),
        ];
        if narrow {
            header.pop();
            widths.pop();
            widths[1] = Constraint::Fill(1);
            widths[3] = Constraint::Fill(1);
        }
        let cw = cell_widths(inner, &widths);
        render_list(
            f,
            inner,
            Some(Row::new(header)),
            &widths,
            q.rows.len(),
            &q.win,
            true,
            &theme.widget_style(),
            |i| {
                let r = &q.rows[i];
                let mark = if self.marked.contains_key(&r.id) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let tag = if self.changed.contains(&r.id) {
                    Span::styled("changed", theme.warn)
                } else if self.new.contains(&r.id) {
                    Span::styled("new", theme.badge)
                } else {
                    Span::raw("")
                };
                let mut cells = vec![
                    Cell::from(mark),
                    Cell::from(truncate(&person(r), cw[1])),
                    Cell::from(kind_words(r.kind)),
                    Cell::from(truncate(&diff_summary(&r.diff), cw[3])),
                    Cell::from(tag),
                ];
                if !narrow {
                    cells.push(Cell::from(short_time(&r.created_at, TimeWidth::MonthDay)));
                }
                Row::new(cells)
            },
        );
    }

    pub(super) fn detail_lines(&self, vx: &ViewCtx, width: usize) -> Vec<Line<'static>> {
        let theme = &vx.theme;
        let mut lines = Vec::new();
        if self.list == List::Pending {
            let Some(r) = self.queue.current() else {
                lines.push(Line::from("Nothing selected."));
                return lines;
            };
            lines.push(Line::styled(
                format!("{} · {}", person(r), kind_words(r.kind)),
                theme.title,
            ));
            if self.changed.contains(&r.id) {
                lines.push(Line::styled(
                    "⚠ this request changed; review it again",
                    theme.warn,
                ));
            }
            let head = format!("Request v{} · {}", r.version, r.state.as_str());
            let since = format!("since {}", short_time(&r.created_at, TimeWidth::Minutes));
            // One line when it fits (80 columns), two in the side panel, never a broken time.
            if head.chars().count() + since.len() + 3 <= width {
                lines.push(Line::from(format!("{head} · {since}")));
            } else {
                lines.push(Line::from(head));
                lines.push(Line::from(since));
            }
            lines.push(Line::styled("Diff (granted → requested):", theme.title));
            for l in diff_lines(&r.diff) {
                lines.push(Line::from(format!("  {l}")));
            }
        }
        let Some(d) = self
            .detail
            .as_ref()
            .filter(|d| Some(&d.member.id) == self.detail_for.as_ref())
        else {
            if self.detail_for.is_some() {
                lines.push(Line::styled("loading…", theme.dim));
            } else if self.list == List::Members {
                lines.push(Line::from("Nothing selected."));
            }
            return lines;
        };
        let m = &d.member;
        if self.list == List::Members {
            let name = m
                .display_name
                .as_deref()
                .map(|n| format!("{n} <{}>", m.email))
                .unwrap_or_else(|| m.email.clone());
            // Whole, wrapped if need be: the list is where names are cut.
            lines.push(Line::styled(name, theme.title));
            let source = match m.source {
                MemberSource::Scim => "provisioned by the IdP (SCIM)",
                MemberSource::Manual => "added by an admin",
            };
            lines.push(Line::from(format!("{} · {source}", m.state.as_str())));
            lines.extend(rejection_lines(m, theme));
            lines.extend(self.change_lines(&m.id, vx));
            lines.push(Line::from(format!(
                "Granted: {}",
                access_words(m.granted.as_ref())
            )));
            if m.requested != m.granted {
                let label = if m.state == MemberState::Rejected {
                    "Asked for (rejected)"
                } else {
                    "Requested"
                };
                lines.push(Line::from(format!(
                    "{label}: {}",
                    access_words(m.requested.as_ref())
                )));
            }
            if let Some(r) = m
                .request
                .as_ref()
                .filter(|r| r.state == RequestState::Pending)
            {
                lines.push(Line::styled(
                    format!("⧗ Pending ({}): a approves, r rejects", kind_words(r.kind)),
                    theme.warn,
                ));
                for l in diff_lines(&r.diff) {
                    lines.push(Line::from(format!("  {l}")));
                }
            }
        } else {
            // A request's member changed since OLD too: said after the request.
            lines.extend(self.change_lines(&m.id, vx));
        }
        lines.push(Line::styled("Why each role:", theme.title));
        if d.roles.is_empty() {
            lines.push(Line::from("  no role"));
        }
        for e in &d.roles {
            let role = match &e.role {
                RoleRef::Org { org_role } => format!("{org_role} (org)"),
                RoleRef::Stack(s) => format!("{} on {}", s.role_name, s.stack_name),
            };
            let mark = match (e.granted, e.requested) {
                (true, _) => "✓",
                (false, true) if m.state == MemberState::Rejected => "✗",
                (false, true) => "⧗",
                (false, false) => "·",
            };
            let state = match (e.granted, e.requested) {
                (true, true) | (true, false) => "",
                (false, true) if m.state == MemberState::Rejected => " (rejected)",
                (false, true) => " (pending)",
                (false, false) => "",
            };
            let via: Vec<String> = e
                .via
                .iter()
                .map(|v| match v {
                    Via::Group { group_name, .. } => format!("group {group_name}"),
                    Via::Manual => "set by an admin".to_string(),
                })
                .collect();
            let via = if via.is_empty() {
                "the default role".to_string()
            } else {
                via.join(", ")
            };
            lines.push(Line::from(format!("  {mark} {role}{state} ← {via}")));
        }
        lines
    }

    /// What changed about this member since OLD, in words (see [`super::change_lines`]).
    pub(super) fn change_lines(&self, member_id: &str, vx: &ViewCtx) -> Vec<Line<'static>> {
        let theme = &vx.theme;
        match vx.changes {
            Some(c) => crate::console::panes::change_lines(
                c.against(),
                c.member(member_id).map(|x| x.parts()).unwrap_or_default(),
                theme,
            ),
            None => Vec::new(),
        }
    }

    pub(super) fn view_detail(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let title = match self.list {
            List::Members => " Member ",
            List::Pending => " Request ",
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(title);
        let width = area.width.saturating_sub(2) as usize;
        let lines = self.detail_lines(vx, width);
        // What does not fit is said, not silently cut: the bottom border offers Enter.
        let rows = area.height.saturating_sub(2) as usize;
        let block = if !self.zoomed && rendered_rows(&lines, width) > rows {
            block.title_bottom(Line::styled(" … more: Enter shows all ", theme.dim).right_aligned())
        } else {
            block
        };
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}

/// How many rows `lines` take wrapped at `width` (a close count: words, as the panes wrap).
fn rendered_rows(lines: &[Line], width: usize) -> usize {
    lines
        .iter()
        .map(|l| crate::console::panes::common::fmt::wrap(&l.to_string(), width).len())
        .sum()
}
