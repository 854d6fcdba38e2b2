//! A yes/no dialog that starts on Cancel, so that a stray Enter never does the dangerous
//! thing.

use super::{Outcome, WidgetStyle, centered};
use crate::console::keymap::{Action, Press};
use ratatui::Frame;
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

    /// The dialog keys of the key table: the other button, press the focused one, cancel.
    pub fn handle(&mut self, press: Press) -> Outcome<()> {
        match press {
            Press::Act(Action::SwitchButton) => {
                self.on_action = !self.on_action;
                Outcome::Changed
            }
            Press::Act(Action::Open) if self.on_action => Outcome::Submitted(()),
            Press::Act(Action::Open | Action::Back) => Outcome::Cancelled,
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

    const OPEN: Press = Press::Act(Action::Open);
    const SWITCH: Press = Press::Act(Action::SwitchButton);

    #[test]
    fn enter_at_first_cancels() {
        let mut c = remove();
        assert!(!c.on_action());
        assert_eq!(c.handle(OPEN), Outcome::Cancelled);
    }

    #[test]
    fn moving_to_the_action_and_enter_confirms() {
        let mut c = remove();
        assert_eq!(c.handle(SWITCH), Outcome::Changed);
        assert!(c.on_action());
        assert_eq!(c.handle(OPEN), Outcome::Submitted(()));
        c.handle(SWITCH);
        assert_eq!(c.handle(OPEN), Outcome::Cancelled);
    }

    #[test]
    fn back_cancels_and_other_keys_do_nothing() {
        let mut c = remove();
        c.handle(SWITCH);
        assert_eq!(c.handle(Press::Act(Action::Back)), Outcome::Cancelled);
        for p in [
            Press::Char('y'),
            Press::Act(Action::Approve),
            Press::Nothing,
        ] {
            assert_eq!(remove().handle(p), Outcome::Unchanged);
        }
    }

    /// The keys of a dialog come from the key table: Tab, arrows, h and l switch; Enter
    /// presses; Esc, n and q cancel; y is nothing.
    #[test]
    fn the_key_tables_dialog_keys() {
        use crate::console::keymap::{Context, Keymap};
        use ratatui::crossterm::event::KeyCode;
        let km = Keymap::build(
            &crate::console::panes::bindings(),
            &Default::default(),
            false,
        )
        .unwrap();
        let p = |k| km.press(Context::Dialog, &k);
        for k in [key(KeyCode::Tab), key(KeyCode::Left), ch('h'), ch('l')] {
            assert_eq!(p(k), SWITCH);
        }
        assert_eq!(p(key(KeyCode::Enter)), OPEN);
        for k in [key(KeyCode::Esc), ch('n'), ch('q')] {
            assert_eq!(p(k), Press::Act(Action::Back));
        }
        assert_eq!(p(ch('y')), Press::Nothing);
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
        c.handle(SWITCH);
        let s = screen(50, 9, |f| c.render(f, f.area(), &WidgetStyle::default()));
        insta::assert_snapshot!(s);
    }
}
