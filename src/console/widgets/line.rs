//! A one-line text field with a cursor, edited by the key table's text actions: the `:` line,
//! the `/` filter, a dropdown's filter, a token's label.

use crate::console::keymap::{Action, Press};
use ratatui::style::Style;
use ratatui::text::Span;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEdit {
    text: String,
    /// In characters, from 0 to the text's length.
    cursor: usize,
}

impl LineEdit {
    /// `text`, with the cursor at its end.
    pub fn new(text: impl Into<String>) -> LineEdit {
        let text = text.into();
        let cursor = text.chars().count();
        LineEdit { text, cursor }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Replaces the text (a history entry, a completion), the cursor at its end.
    pub fn set(&mut self, text: impl Into<String>) {
        *self = LineEdit::new(text);
    }

    fn byte(&self, char_index: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_index)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Applies a typed character or an editing action; true when the text changed. Other
    /// presses (and cursor moves, which change only the cursor) answer false.
    pub fn edit(&mut self, press: Press) -> bool {
        let len = self.text.chars().count();
        match press {
            Press::Char(c) => {
                let at = self.byte(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                true
            }
            Press::Act(Action::Left) => {
                self.cursor = self.cursor.saturating_sub(1);
                false
            }
            Press::Act(Action::Right) => {
                self.cursor = (self.cursor + 1).min(len);
                false
            }
            Press::Act(Action::LineStart) => {
                self.cursor = 0;
                false
            }
            Press::Act(Action::LineEnd) => {
                self.cursor = len;
                false
            }
            Press::Act(Action::DeleteChar) if self.cursor > 0 => {
                let (a, b) = (self.byte(self.cursor - 1), self.byte(self.cursor));
                self.text.replace_range(a..b, "");
                self.cursor -= 1;
                true
            }
            Press::Act(Action::DeleteWord) if self.cursor > 0 => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte(start), self.byte(self.cursor));
                self.text.replace_range(a..b, "");
                self.cursor = start;
                true
            }
            Press::Act(Action::ClearLine) if self.cursor > 0 => {
                let b = self.byte(self.cursor);
                self.text.replace_range(..b, "");
                self.cursor = 0;
                true
            }
            _ => false,
        }
    }

    /// The text with a block cursor, for a line on screen.
    pub fn spans(&self, text: Style, cursor: Style) -> Vec<Span<'static>> {
        let at = self.byte(self.cursor);
        let (before, rest) = self.text.split_at(at);
        let mut chars = rest.chars();
        let under = chars.next();
        let after: String = chars.collect();
        vec![
            Span::styled(before.to_string(), text),
            match under {
                Some(c) => Span::styled(c.to_string(), cursor),
                None => Span::styled("█", text),
            },
            Span::styled(after, text),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(l: &mut LineEdit, s: &str) {
        for c in s.chars() {
            l.edit(Press::Char(c));
        }
    }

    #[test]
    fn types_moves_and_deletes_by_character_word_and_line() {
        let mut l = LineEdit::default();
        typed(&mut l, "export acme.json");
        assert!(l.edit(Press::Act(Action::DeleteWord)));
        assert_eq!(l.text(), "export ");
        typed(&mut l, "q1.json");
        l.edit(Press::Act(Action::LineStart));
        l.edit(Press::Act(Action::Right));
        assert!(l.edit(Press::Act(Action::DeleteChar)));
        assert_eq!(l.text(), "xport q1.json");
        typed(&mut l, "é");
        assert_eq!(l.text(), "éxport q1.json");
        l.edit(Press::Act(Action::LineEnd));
        assert!(l.edit(Press::Act(Action::ClearLine)));
        assert_eq!(l.text(), "");
        assert!(!l.edit(Press::Act(Action::DeleteChar)), "nothing to delete");
        assert!(!l.edit(Press::Act(Action::Approve)), "not an editing key");
    }
}
