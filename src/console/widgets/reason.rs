//! The reason prompt of a rejection: a small ratatui-textarea editor, driven by the key
//! table's reason and text keys. Enter submits (a reason is required), Ctrl-j or Alt-Enter
//! starts a new line, Esc cancels.

use super::{Outcome, WidgetStyle, centered};
use crate::console::keymap::{Action, Press};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::{CursorMove, TextArea, WrapMode};

/// The longest reason accepted, in characters; the server stores it in the audit log.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone)]
pub struct ReasonPrompt {
    title: String,
    area: TextArea<'static>,
    /// Why the last Enter was refused, shown under the editor.
    problem: Option<&'static str>,
}

impl ReasonPrompt {
    pub fn new(title: impl Into<String>, style: &WidgetStyle) -> Self {
        let mut area = TextArea::default();
        area.set_placeholder_text(
            "why is this rejected? (kept in the audit log: 4 Audit, or H on the member)",
        );
        area.set_style(style.text);
        area.set_placeholder_style(style.dim);
        area.set_cursor_line_style(style.text);
        // A reason is a sentence or two: it wraps at the box's edge rather than scrolling
        // sideways out of sight.
        area.set_wrap_mode(WrapMode::WordOrGlyph);
        ReasonPrompt {
            title: title.into(),
            area,
            problem: None,
        }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// The reason editor's keys of the key table, and typed characters.
    pub fn handle(&mut self, press: Press) -> Outcome<String> {
        let changed = match press {
            Press::Act(Action::Back) => return Outcome::Cancelled,
            Press::Act(Action::Open) => {
                let text = self.text().trim().to_string();
                return if text.is_empty() {
                    self.problem = Some("a reason is required");
                    Outcome::Changed
                } else if text.chars().count() > MAX_REASON_CHARS {
                    self.problem = Some("at most 500 characters");
                    Outcome::Changed
                } else {
                    Outcome::Submitted(text)
                };
            }
            Press::Act(Action::NewLine) => {
                self.area.insert_newline();
                true
            }
            Press::Char(c) => {
                self.area.insert_char(c);
                true
            }
            Press::Act(Action::DeleteChar) => self.area.delete_char(),
            Press::Act(Action::DeleteWord) => self.area.delete_word(),
            Press::Act(Action::ClearLine) => self.area.delete_line_by_head(),
            Press::Act(Action::Left) => self.cursor(CursorMove::Back),
            Press::Act(Action::Right) => self.cursor(CursorMove::Forward),
            Press::Act(Action::LineStart) => self.cursor(CursorMove::Head),
            Press::Act(Action::LineEnd) => self.cursor(CursorMove::End),
            _ => return Outcome::Unchanged,
        };
        if changed {
            self.problem = None;
        }
        // The cursor moves even when the text does not, so always redraw.
        Outcome::Changed
    }

    fn cursor(&mut self, m: CursorMove) -> bool {
        self.area.move_cursor(m);
        false
    }

    pub fn render(&self, f: &mut Frame, area: Rect, style: &WidgetStyle) {
        let popup = centered(area, 64, 9);
        f.render_widget(Clear, popup);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(style.border)
            .title(Span::styled(format!(" {} ", self.title), style.title));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        if inner.height < 3 {
            return;
        }
        let editor = Rect {
            height: inner.height - 2,
            ..inner
        };
        let hint_row = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        f.render_widget(&self.area, editor);
        let hint = match self.problem {
            Some(p) => Line::from(vec![
                Span::styled("✗ ", style.error),
                Span::styled(p, style.error),
            ]),
            None => Line::styled(
                format!(
                    "{}/{MAX_REASON_CHARS} · Enter reject · Ctrl-j new line · Esc cancel",
                    self.text().chars().count()
                ),
                style.dim,
            ),
        };
        f.render_widget(Paragraph::new(hint), hint_row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::widgets::test_util::*;

    fn typed(p: &mut ReasonPrompt, s: &str) {
        for c in s.chars() {
            p.handle(Press::Char(c));
        }
    }

    fn act(p: &mut ReasonPrompt, a: Action) -> Outcome<String> {
        p.handle(Press::Act(a))
    }

    #[test]
    fn an_empty_reason_is_refused_with_a_hint() {
        let mut p = ReasonPrompt::new("Reject ann@acme.example", &WidgetStyle::plain());
        typed(&mut p, "   ");
        assert_eq!(act(&mut p, Action::Open), Outcome::Changed);
        let s = screen(70, 11, |f| p.render(f, f.area(), &WidgetStyle::plain()));
        assert!(s.contains("✗ a reason is required"), "{s}");
        typed(&mut p, "x");
        let s = screen(70, 11, |f| p.render(f, f.area(), &WidgetStyle::plain()));
        assert!(!s.contains("required"), "typing clears the hint:\n{s}");
    }

    #[test]
    fn enter_submits_the_trimmed_text_and_ctrl_j_breaks_lines() {
        let mut p = ReasonPrompt::new("Reject", &WidgetStyle::plain());
        typed(&mut p, " not on the team");
        act(&mut p, Action::NewLine);
        typed(&mut p, "ask HR ");
        act(&mut p, Action::DeleteChar);
        assert_eq!(
            act(&mut p, Action::Open),
            Outcome::Submitted("not on the team\nask HR".into())
        );
    }

    #[test]
    fn too_long_is_refused_and_esc_cancels() {
        let mut p = ReasonPrompt::new("Reject", &WidgetStyle::plain());
        typed(&mut p, &"x".repeat(MAX_REASON_CHARS + 1));
        assert_eq!(act(&mut p, Action::Open), Outcome::Changed);
        assert_eq!(act(&mut p, Action::Back), Outcome::Cancelled);
    }

    /// Issue 24, item 11: a reason longer than the box wraps; none of it goes out of sight.
    #[test]
    fn a_long_reason_wraps_in_the_box() {
        let mut p = ReasonPrompt::new("Reject", &WidgetStyle::plain());
        typed(
            &mut p,
            "Contractor whose engagement ended last Friday; HR ticket 4411 confirms it, ask \
             Dana before granting anything again",
        );
        let s = screen(70, 11, |f| p.render(f, f.area(), &WidgetStyle::plain()));
        assert!(s.contains("Contractor whose"), "{s}");
        assert!(s.contains("granting anything again"), "{s}");
    }

    #[test]
    fn renders_the_prompt() {
        let mut p = ReasonPrompt::new("Reject ann@acme.example (provision)", &WidgetStyle::plain());
        typed(&mut p, "Contractor, access ends Friday");
        let s = screen(70, 11, |f| p.render(f, f.area(), &WidgetStyle::plain()));
        insta::assert_snapshot!(s);
    }
}
