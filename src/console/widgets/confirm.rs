//! A yes/no dialog that starts on Cancel, so that a stray Enter never does the dangerous
//! thing.

use super::{Outcome, WidgetStyle, centered};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub message: String,
    /// The confirming button's word ("Remove", "Approve 12"): a verb, never "OK".
    pub action: String,
    /// Destructive: drawn with the danger style and a warning sign.
    pub danger: bool,
    on_action: bool,
}

impl Confirm {
    pub fn new(
        title: impl Into<String>,
        message: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Confirm {
            title: title.into(),
            message: message.into(),
            action: action.into(),
            danger: false,
            on_action: false,
        }
    }

    pub fn dangerous(mut self) -> Self {
        self.danger = true;
        self
    }

    /// Whether the action button has the focus.
    pub fn on_action(&self) -> bool {
        self.on_action
    }

    /// Tab, arrows and h/l move between the buttons; Enter presses the focused one; Esc, n
    /// and q cancel.
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome<()> {
        match key.code {
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l') => {
                self.on_action = !self.on_action;
                Outcome::Changed
            }
            KeyCode::Enter if self.on_action => Outcome::Submitted(()),
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => {
                Outcome::Cancelled
            }
            _ => Outcome::Unchanged,
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, style: &WidgetStyle) {
        let width = (self.message.chars().count() as u16 + 4).clamp(36, 60);
        let text_rows = (self.message.chars().count() as u16)
            .div_ceil(width - 4)
            .max(1);
        let popup = centered(area, width, text_rows + 5);
        f.render_widget(Clear, popup);
        let title = if self.danger {
            format!(" ⚠ {} ", self.title)
        } else {
            format!(" {} ", self.title)
        };
        let border = if self.danger {
            style.danger
        } else {
            style.border
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .title(Span::styled(title, style.title));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let button = |label: &str, focused: bool, s| {
            if focused {
                Span::styled(format!("▸[ {label} ]"), style.cursor)
            } else {
                Span::styled(format!(" [ {label} ]"), s)
            }
        };
        let action_style = if self.danger {
            style.danger
        } else {
            style.text
        };
        let mut lines: Vec<Line> = vec![Line::styled(self.message.clone(), style.text)];
        let pad = inner.height.saturating_sub(text_rows + 1) as usize;
        lines.extend(std::iter::repeat_n(Line::default(), pad));
        lines.push(
            Line::from(vec![
                button("Cancel", !self.on_action, style.text),
                Span::raw("  "),
                button(&self.action, self.on_action, action_style),
            ])
            .alignment(Alignment::Center),
        );
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::widgets::test_util::*;

    fn remove() -> Confirm {
        Confirm::new(
            "Remove member",
            "Remove ann@acme.example from Acme? The IdP may provision her again.",
            "Remove",
        )
        .dangerous()
    }

    #[test]
    fn enter_at_first_cancels() {
        let mut c = remove();
        assert!(!c.on_action());
        assert_eq!(c.handle_key(key(KeyCode::Enter)), Outcome::Cancelled);
    }

    #[test]
    fn moving_to_the_action_and_enter_confirms() {
        let mut c = remove();
        assert_eq!(c.handle_key(key(KeyCode::Tab)), Outcome::Changed);
        assert!(c.on_action());
        assert_eq!(c.handle_key(key(KeyCode::Enter)), Outcome::Submitted(()));
        c.handle_key(ch('h'));
        assert_eq!(c.handle_key(key(KeyCode::Enter)), Outcome::Cancelled);
    }

    #[test]
    fn esc_n_and_q_cancel_and_y_does_nothing() {
        for k in [key(KeyCode::Esc), ch('n'), ch('q')] {
            let mut c = remove();
            c.handle_key(key(KeyCode::Right));
            assert_eq!(c.handle_key(k), Outcome::Cancelled);
        }
        assert_eq!(remove().handle_key(ch('y')), Outcome::Unchanged);
    }

    #[test]
    fn renders_with_cancel_focused() {
        let c = remove();
        let s = screen(64, 12, |f| c.render(f, f.area(), &WidgetStyle::plain()));
        insta::assert_snapshot!(s);
    }

    #[test]
    fn renders_a_bulk_approval_count() {
        let mut c = Confirm::new("Approve", "Approve 12 pending requests?", "Approve 12");
        c.handle_key(key(KeyCode::Tab));
        let s = screen(50, 9, |f| c.render(f, f.area(), &WidgetStyle::default()));
        insta::assert_snapshot!(s);
    }
}
