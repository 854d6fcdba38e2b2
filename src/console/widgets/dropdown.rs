//! A popup list you type into to filter, with one choice or several.
//!
//! Typing filters (case-insensitive substring); arrows, Ctrl-n/Ctrl-p and PgUp/PgDn move;
//! in a multi-select Space ticks the highlighted item; Enter chooses; Esc clears the filter,
//! or closes when it is already empty.

use super::list::{ListWindow, render_list};
use super::{Outcome, WidgetStyle, centered, truncate};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Constraint;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row};
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Dropdown<T> {
    title: String,
    items: Vec<(String, T)>,
    multi: bool,
    query: String,
    /// Indices into `items` that match the query, in item order.
    shown: Vec<usize>,
    /// Indices into `items`.
    ticked: BTreeSet<usize>,
    window: ListWindow,
}

impl<T: Clone> Dropdown<T> {
    /// One choice; the item equal to `current` (if any) starts highlighted.
    pub fn single(title: impl Into<String>, items: Vec<(String, T)>, current: Option<&T>) -> Self
    where
        T: PartialEq,
    {
        let mut d = Self::build(title.into(), items, false);
        if let Some(i) = current.and_then(|c| d.items.iter().position(|(_, v)| v == c)) {
            d.window.select(i, d.shown.len());
        }
        d
    }

    /// Several choices; the items in `ticked` start ticked.
    pub fn multi(title: impl Into<String>, items: Vec<(String, T)>, ticked: &[T]) -> Self
    where
        T: PartialEq,
    {
        let mut d = Self::build(title.into(), items, true);
        d.ticked = d
            .items
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| ticked.contains(v))
            .map(|(i, _)| i)
            .collect();
        d
    }

    fn build(title: String, items: Vec<(String, T)>, multi: bool) -> Self {
        let shown = (0..items.len()).collect();
        Dropdown {
            title,
            items,
            multi,
            query: String::new(),
            shown,
            ticked: BTreeSet::new(),
            window: ListWindow::default(),
        }
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn is_multi(&self) -> bool {
        self.multi
    }

    /// The labels that match the filter, in order.
    pub fn shown_labels(&self) -> Vec<&str> {
        self.shown
            .iter()
            .map(|&i| self.items[i].0.as_str())
            .collect()
    }

    pub fn highlighted(&self) -> Option<&T> {
        self.shown
            .get(self.window.selected)
            .map(|&i| &self.items[i].1)
    }

    /// The ticked values, in item order (a multi-select's answer so far).
    pub fn ticked(&self) -> Vec<T> {
        self.ticked
            .iter()
            .map(|&i| self.items[i].1.clone())
            .collect()
    }

    /// New items (the server's answer to what was typed), keeping the query, the ticks and
    /// the highlighted value where they are still offered.
    pub fn set_items(&mut self, items: Vec<(String, T)>)
    where
        T: PartialEq,
    {
        let highlighted = self.highlighted().cloned();
        let ticked = self.ticked();
        self.items = items;
        self.ticked = (0..self.items.len())
            .filter(|&i| ticked.contains(&self.items[i].1))
            .collect();
        self.shown = Vec::new();
        self.refilter();
        if let Some(pos) =
            highlighted.and_then(|h| self.shown.iter().position(|&i| self.items[i].1 == h))
        {
            self.window.select(pos, self.shown.len());
        }
    }

    fn refilter(&mut self) {
        let q = self.query.to_lowercase();
        let keep = self.shown.get(self.window.selected).copied();
        self.shown = (0..self.items.len())
            .filter(|&i| q.is_empty() || self.items[i].0.to_lowercase().contains(&q))
            .collect();
        // Stay on the same item when it still matches, else go to the first match.
        let pos = keep
            .and_then(|k| self.shown.iter().position(|&i| i == k))
            .unwrap_or(0);
        self.window.select(pos, self.shown.len());
    }

    /// Enter's answer: the highlighted value for a single choice, the ticked values for a
    /// multi-select (possibly none: that clears the choice).
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome<Vec<T>> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let len = self.shown.len();
        match key.code {
            KeyCode::Esc if !self.query.is_empty() => {
                self.query.clear();
                self.refilter();
                Outcome::Changed
            }
            KeyCode::Esc => Outcome::Cancelled,
            KeyCode::Enter if self.multi => Outcome::Submitted(self.ticked()),
            KeyCode::Enter => match self.highlighted() {
                Some(v) => Outcome::Submitted(vec![v.clone()]),
                None => Outcome::Unchanged,
            },
            KeyCode::Char(' ') if self.multi => match self.shown.get(self.window.selected) {
                Some(&i) => {
                    if !self.ticked.remove(&i) {
                        self.ticked.insert(i);
                    }
                    Outcome::Changed
                }
                None => Outcome::Unchanged,
            },
            KeyCode::Char('n') if ctrl => self
                .window
                .handle_key(KeyEvent::from(KeyCode::Down), len)
                .cast(),
            KeyCode::Char('p') if ctrl => self
                .window
                .handle_key(KeyEvent::from(KeyCode::Up), len)
                .cast(),
            KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => {
                self.window.handle_key(key, len).cast()
            }
            KeyCode::Home | KeyCode::End if self.query.is_empty() => {
                self.window.handle_key(key, len).cast()
            }
            KeyCode::Backspace if self.query.pop().is_some() => {
                self.refilter();
                Outcome::Changed
            }
            KeyCode::Backspace => Outcome::Unchanged,
            KeyCode::Char('u') if ctrl && !self.query.is_empty() => {
                self.query.clear();
                self.refilter();
                Outcome::Changed
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.query.push(c);
                self.refilter();
                Outcome::Changed
            }
            // A popup is modal: keys it does not use go nowhere else.
            _ => Outcome::Unchanged,
        }
    }

    /// Draws the popup centred over `area`.
    pub fn render(&self, f: &mut Frame, area: Rect, style: &WidgetStyle) {
        let widest = self
            .items
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(self.title.chars().count() + 2)
            .max(40);
        let list_rows = self.items.len().clamp(1, 12) as u16;
        // Borders, the filter line, the list, the footer.
        let popup = centered(area, widest as u16 + 8, list_rows + 4);
        // Drawing decides nothing: the window is a copy sized to what fits.
        let mut window = self.window;
        window.set_height(
            popup.height.saturating_sub(4).max(1) as usize,
            self.shown.len(),
        );
        f.render_widget(Clear, popup);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(style.border)
            .title(Span::styled(format!(" {} ", self.title), style.title));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        if inner.height < 2 {
            return;
        }
        let width = inner.width as usize;
        let mut lines = Vec::with_capacity(inner.height as usize);
        lines.push(Line::from(vec![
            Span::styled("/ ", style.dim),
            Span::styled(self.query.clone(), style.text),
            Span::styled("▏", style.dim),
        ]));
        let body = Rect {
            y: inner.y + 1,
            height: inner.height.saturating_sub(2),
            ..inner
        };
        f.render_widget(Paragraph::new(lines), inner);
        if self.shown.is_empty() {
            f.render_widget(
                Paragraph::new(Line::styled("  (no match)", style.dim)),
                body,
            );
        } else {
            let label_w = width.saturating_sub(6);
            render_list(
                f,
                body,
                None,
                &[Constraint::Fill(1)],
                self.shown.len(),
                &window,
                true,
                style,
                |pos| {
                    let i = self.shown[pos];
                    let tick = match (self.multi, self.ticked.contains(&i)) {
                        (false, _) => "",
                        (true, true) => "[x] ",
                        (true, false) => "[ ] ",
                    };
                    Row::new([format!("{tick}{}", truncate(&self.items[i].0, label_w))])
                },
            );
        }
        let mut footer = format!("{}/{}", self.shown.len(), self.items.len());
        if self.multi {
            footer.push_str(&format!(" · {} ticked · Space tick", self.ticked.len()));
        }
        footer.push_str(" · Enter ok · Esc");
        let foot = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        f.render_widget(
            Paragraph::new(Line::styled(truncate(&footer, width), style.dim)),
            foot,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::widgets::test_util::*;

    fn groups() -> Vec<(String, &'static str)> {
        [
            "Engineering",
            "Design",
            "Sales",
            "Support",
            "Data Engineering",
        ]
        .iter()
        .map(|s| (s.to_string(), *s))
        .collect()
    }

    fn typed<T: Clone + PartialEq + std::fmt::Debug>(d: &mut Dropdown<T>, s: &str) {
        for c in s.chars() {
            assert_eq!(d.handle_key(ch(c)), Outcome::Changed);
        }
    }

    #[test]
    fn typing_filters_and_enter_picks_the_highlighted_item() {
        let mut d = Dropdown::single("Group", groups(), None);
        typed(&mut d, "ENG");
        assert_eq!(d.shown_labels(), ["Engineering", "Data Engineering"]);
        d.handle_key(key(KeyCode::Down));
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            Outcome::Submitted(vec!["Data Engineering"])
        );
        typed(&mut d, "zzz");
        assert!(d.shown_labels().is_empty());
        assert_eq!(d.handle_key(key(KeyCode::Enter)), Outcome::Unchanged);
        assert_eq!(d.handle_key(key(KeyCode::Backspace)), Outcome::Changed);
        assert_eq!(d.query(), "ENGzz");
    }

    #[test]
    fn the_highlight_follows_its_item_through_a_filter() {
        let mut d = Dropdown::single("Group", groups(), Some(&"Data Engineering"));
        assert_eq!(d.highlighted(), Some(&"Data Engineering"));
        typed(&mut d, "eng");
        assert_eq!(d.highlighted(), Some(&"Data Engineering"));
        typed(&mut d, "ineering");
        d.handle_key(ctrl('p'));
        assert_eq!(d.highlighted(), Some(&"Engineering"));
    }

    #[test]
    fn esc_clears_the_filter_first_then_closes() {
        let mut d = Dropdown::single("Group", groups(), None);
        typed(&mut d, "s");
        assert_eq!(d.handle_key(key(KeyCode::Esc)), Outcome::Changed);
        assert_eq!(d.query(), "");
        assert_eq!(d.shown_labels().len(), 5);
        assert_eq!(d.handle_key(key(KeyCode::Esc)), Outcome::Cancelled);
    }

    #[test]
    fn multi_select_ticks_with_space_and_returns_all_ticked() {
        let mut d = Dropdown::multi("Roles", groups(), &["Sales"]);
        assert_eq!(d.handle_key(ch(' ')), Outcome::Changed);
        d.handle_key(ctrl('n'));
        d.handle_key(ctrl('n'));
        // Sales was ticked to begin with: Space unticks it.
        d.handle_key(ch(' '));
        typed(&mut d, "sup");
        d.handle_key(ch(' '));
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            Outcome::Submitted(vec!["Engineering", "Support"])
        );
        let mut none = Dropdown::multi("Roles", groups(), &[]);
        assert_eq!(
            none.handle_key(key(KeyCode::Enter)),
            Outcome::Submitted(vec![])
        );
    }

    #[test]
    fn other_keys_stay_in_the_popup() {
        let mut d = Dropdown::single("Group", groups(), None);
        assert_eq!(d.handle_key(key(KeyCode::F(5))), Outcome::Unchanged);
        assert_eq!(d.handle_key(ctrl('r')), Outcome::Unchanged);
    }

    #[test]
    fn renders_filter_marks_and_footer() {
        let mut d = Dropdown::multi("Stack roles on Mobile App", groups(), &["Design"]);
        typed(&mut d, "e");
        let s = screen(50, 14, |f| d.render(f, f.area(), &WidgetStyle::plain()));
        insta::assert_snapshot!(s);
    }
}
