//! Drawing the Audit pane: the list of events and the selected event's detail.

use super::*;

impl AuditPane {
    /// Where the list (none while an event is zoomed) and the detail go in `area`.
    pub(super) fn areas(&self, area: Rect) -> (Option<Rect>, Rect) {
        list_and_detail(area, self.zoomed, 50, 18)
    }

    fn title(&self, vx: &ViewCtx) -> Line<'static> {
        let theme = &vx.theme;
        let mut spans = vec![Span::styled(
            format!(" Audit ({} events)", self.events.total),
            theme.title,
        )];
        match &self.query {
            Err(why) => spans.push(Span::styled(format!(" · {why}"), theme.warn)),
            // A new admin's first question: how to narrow this.
            Ok(f) if f.is_empty() => spans.push(Span::styled(
                " · / filters: okta  approval  target:ID  since:2026-12-01",
                theme.dim,
            )),
            Ok(f) => {
                if let Some(t) = &f.target {
                    let name = self.labels.get(t).unwrap_or(t);
                    spans.push(Span::styled(format!(" · history of {name}"), theme.badge));
                }
                let mut rest = Vec::new();
                if let Some(a) = &f.actor {
                    rest.push(format!("by {a}"));
                }
                if let Some(a) = &f.action {
                    rest.push(a.clone());
                }
                if let Some(s) = &f.since {
                    rest.push(format!("since {}", short_time(s, TimeWidth::Minutes)));
                }
                if let Some(u) = &f.until {
                    rest.push(format!("until {}", short_time(u, TimeWidth::Minutes)));
                }
                if !rest.is_empty() {
                    spans.push(Span::styled(
                        format!(" · {}", rest.join(" · ")),
                        theme.badge,
                    ));
                }
            }
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }

    pub(super) fn view_list(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(self.title(vx));
        let inner = block.inner(area);
        f.render_widget(block, area);
        if let Some(e) = &self.error {
            f.render_widget(
                Paragraph::new(Line::styled(format!("✗ {e}"), theme.error))
                    .wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        let ev = &self.events;
        if !ev.loaded {
            let text = match &self.query {
                Err(_) => "Finish the filter (or Esc clears it).",
                Ok(_) => "loading…",
            };
            f.render_widget(Paragraph::new(text), inner);
            return;
        }
        if ev.rows.is_empty() {
            let text = if self.filter.is_empty() {
                "No event yet: every SCIM and admin write is recorded here.".to_string()
            } else {
                format!(
                    "No event matches '{}' (Esc clears the filter).",
                    self.filter
                )
            };
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
            return;
        }
        // Whole seconds when there is room; the date's year only in the detail.
        let wide = inner.width >= 100;
        let (when, when_w) = if wide {
            (TimeWidth::Seconds, 19)
        } else {
            (TimeWidth::MonthDay, 11)
        };
        // An action reads whole down to 60 columns: most are under 20 characters.
        let action_w = match inner.width {
            w if w >= 100 => 26,
            w if w >= 70 => 20,
            _ => 18,
        };
        let widths = [
            Constraint::Length(when_w),
            Constraint::Fill(2),
            Constraint::Length(action_w),
            Constraint::Fill(3),
        ];
        // Cells are cut with `…` to the width their column gets; the detail shows them whole.
        let cols = cell_widths(inner, &widths);
        let w = |i: usize| cols[i];
        render_list(
            f,
            inner,
            Some(Row::new(["WHEN", "ACTOR", "ACTION", "TARGET"])),
            &widths,
            ev.rows.len(),
            &ev.win,
            true,
            &theme.widget_style(),
            |i| {
                let e = &ev.rows[i];
                Row::new(vec![
                    Cell::from(short_time(&e.at, when)),
                    Cell::from(truncate(&e.actor, w(1))),
                    Cell::from(truncate(&e.action, w(2))),
                    Cell::from(truncate(&self.target_words(e), w(3))),
                ])
            },
        );
    }

    pub(super) fn detail_lines(&self, vx: &ViewCtx) -> Vec<Line<'static>> {
        let theme = &vx.theme;
        let Some(e) = self.selected() else {
            return vec![Line::from("Nothing selected.")];
        };
        let mut lines = vec![
            Line::styled(format!("{} · #{}", e.action, e.id), theme.title),
            Line::from(format!(
                "{} UTC by {}",
                short_time(&e.at, TimeWidth::Seconds),
                e.actor
            )),
        ];
        if let Some(t) = &e.target {
            let name = self.target_words(e);
            if name == *t {
                lines.push(Line::from(format!("target {t}")));
            } else {
                lines.push(Line::from(format!("target {name} ({t})")));
            }
        }
        let changes = if self.raw {
            change_words(e.before.as_ref(), e.after.as_ref())
        } else {
            event_words(e.before.as_ref(), e.after.as_ref(), &self.names)
        };
        if changes.is_empty() {
            lines.push(Line::styled("no before/after recorded", theme.dim));
        } else {
            let head = match (&e.before, &e.after) {
                (None | Some(Value::Null), _) => "Recorded (new):",
                (_, None | Some(Value::Null)) => "Recorded (gone):",
                _ => "Changed (before → after):",
            };
            lines.push(Line::styled(head, theme.title));
            lines.extend(changes.into_iter().map(|c| Line::from(format!("  {c}"))));
        }
        lines
    }

    pub(super) fn view_detail(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let title = if self.zoomed {
            " Event · j/k scroll · Enter or Esc back ".to_string()
        } else {
            let key = |a| vx.key(PaneId::Audit, a).unwrap_or_default();
            format!(
                " Event · Enter whole · {} history · {} uids ",
                key(Action::History),
                key(Action::ShowIds)
            )
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if self.zoomed {
                theme.focus_border
            } else {
                theme.border
            })
            .title(title);
        f.render_widget(
            Paragraph::new(self.detail_lines(vx))
                .block(block)
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0)),
            area,
        );
    }
}
