//! A popup list you type into to filter, with one choice or several.
//!
//! Keys come from the key table's dropdown context: typing filters (case-insensitive
//! substring), arrows and Ctrl-n/Ctrl-p move, in a multi-select Space ticks the highlighted
//! item, Enter chooses, Esc clears the filter or closes when it is already empty.

use super::line::LineEdit;
use super::list::{ListWindow, render_list};
use super::{Outcome, WidgetStyle, centered, truncate};
use crate::console::keymap::{Action, Press};
use ratatui::Frame;
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
    query: LineEdit,
    /// Indices into `items` that match the query, in item order.
    shown: Vec<usize>,
    /// Indices into `items`.
    ticked: BTreeSet<usize>,
    /// Whether Space has ticked or unticked anything since it opened.
    touched: bool,
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
        // The rows the popup shows (see `render`): what a page moves.
        let window = ListWindow {
            height: items.len().clamp(1, 12),
            ..ListWindow::default()
        };
        Dropdown {
            title,
            items,
            multi,
            query: LineEdit::default(),
            shown,
            ticked: BTreeSet::new(),
            touched: false,
            window,
        }
    }

    pub fn query(&self) -> &str {
        self.query.text()
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
        let q = self.query.text().to_lowercase();
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
    /// multi-select, or the highlighted one when nothing was ticked (none once everything
    /// was unticked: that clears the choice).
    pub fn handle(&mut self, press: Press) -> Outcome<Vec<T>> {
        let len = self.shown.len();
        match press {
            Press::Act(Action::Back) if !self.query.is_empty() => {
                self.query = LineEdit::default();
                self.refilter();
                Outcome::Changed
            }
            Press::Act(Action::Back) => Outcome::Cancelled,
            // Enter chooses what is highlighted when nothing was ticked (and nothing was
            // unticked: after unticking everything, Enter means "none").
            Press::Act(Action::Open) if self.multi && self.ticked.is_empty() && !self.touched => {
                match self.highlighted() {
                    Some(v) => Outcome::Submitted(vec![v.clone()]),
                    None => Outcome::Submitted(Vec::new()),
                }
            }
            Press::Act(Action::Open) if self.multi => Outcome::Submitted(self.ticked()),
            Press::Act(Action::Open) => match self.highlighted() {
                Some(v) => Outcome::Submitted(vec![v.clone()]),
                None => Outcome::Unchanged,
            },
            Press::Act(Action::Mark) if self.multi => match self.shown.get(self.window.selected) {
                Some(&i) => {
                    if !self.ticked.remove(&i) {
                        self.ticked.insert(i);
                    }
                    self.touched = true;
                    Outcome::Changed
                }
                None => Outcome::Unchanged,
            },
            // One choice: Space is a character of the filter ("Content Man").
            Press::Act(Action::Mark) if self.query.edit(Press::Char(' ')) => {
                self.refilter();
                Outcome::Changed
            }
            Press::Act(a) if self.window.act(a, len, self.window.height) => Outcome::Changed,
            // Typing, and the text keys: a new filter when the text changed.
            p if self.query.edit(p) => {
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
        let mut filter = vec![Span::styled("/ ", style.dim)];
        filter.extend(self.query.spans(style.text, style.cursor));
        lines.push(Line::from(filter));
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
    use ratatui::crossterm::event::KeyCode;

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
            assert_eq!(d.handle(Press::Char(c)), Outcome::Changed);
        }
    }

    fn act<T: Clone>(d: &mut Dropdown<T>, a: Action) -> Outcome<Vec<T>> {
        d.handle(Press::Act(a))
    }

    #[test]
    fn typing_filters_and_enter_picks_the_highlighted_item() {
        let mut d = Dropdown::single("Group", groups(), None);
        typed(&mut d, "ENG");
        assert_eq!(d.shown_labels(), ["Engineering", "Data Engineering"]);
        act(&mut d, Action::Down);
        assert_eq!(
            act(&mut d, Action::Open),
            Outcome::Submitted(vec!["Data Engineering"])
        );
        typed(&mut d, "zzz");
        assert!(d.shown_labels().is_empty());
        assert_eq!(act(&mut d, Action::Open), Outcome::Unchanged);
        assert_eq!(act(&mut d, Action::DeleteChar), Outcome::Changed);
        assert_eq!(d.query(), "ENGzz");
    }

    #[test]
    fn the_highlight_follows_its_item_through_a_filter() {
        let mut d = Dropdown::single("Group", groups(), Some(&"Data Engineering"));
        assert_eq!(d.highlighted(), Some(&"Data Engineering"));
        typed(&mut d, "eng");
        assert_eq!(d.highlighted(), Some(&"Data Engineering"));
        typed(&mut d, "ineering");
        act(&mut d, Action::Up);
        assert_eq!(d.highlighted(), Some(&"Engineering"));
    }

    #[test]
    fn esc_clears_the_filter_first_then_closes() {
        let mut d = Dropdown::single("Group", groups(), None);
        typed(&mut d, "s");
        assert_eq!(act(&mut d, Action::Back), Outcome::Changed);
        assert_eq!(d.query(), "");
        assert_eq!(d.shown_labels().len(), 5);
        assert_eq!(act(&mut d, Action::Back), Outcome::Cancelled);
    }

    #[test]
    fn multi_select_ticks_with_space_and_returns_all_ticked() {
        let mut d = Dropdown::multi("Roles", groups(), &["Sales"]);
        assert_eq!(act(&mut d, Action::Mark), Outcome::Changed);
        act(&mut d, Action::Down);
        act(&mut d, Action::Down);
        // Sales was ticked to begin with: Space unticks it.
        act(&mut d, Action::Mark);
        typed(&mut d, "sup");
        act(&mut d, Action::Mark);
        assert_eq!(
            act(&mut d, Action::Open),
            Outcome::Submitted(vec!["Engineering", "Support"])
        );
        // Issue 24, item 10: nothing ticked, Enter chooses what is highlighted...
        let mut none = Dropdown::multi("Roles", groups(), &[]);
        act(&mut none, Action::Down);
        let second = none.highlighted().cloned().unwrap();
        assert_eq!(
            act(&mut none, Action::Open),
            Outcome::Submitted(vec![second])
        );
        // ...but after unticking everything it means none.
        let mut cleared = Dropdown::multi("Roles", groups(), &["Sales"]);
        let at = cleared
            .shown_labels()
            .iter()
            .position(|l| *l == "Sales")
            .unwrap();
        for _ in 0..at {
            act(&mut cleared, Action::Down);
        }
        act(&mut cleared, Action::Mark);
        assert_eq!(act(&mut cleared, Action::Open), Outcome::Submitted(vec![]));
    }

    /// In a dropdown letters type, `j` included: it moves with arrows and Ctrl-n/Ctrl-p.
    #[test]
    fn letters_type_and_arrows_move_by_the_key_table() {
        use crate::console::keymap::{Context, Keymap};
        let km = Keymap::build(
            &crate::console::panes::bindings(),
            &Default::default(),
            false,
        )
        .unwrap();
        let p = |k| km.press(Context::Dropdown, &k);
        assert_eq!(p(ch('j')), Press::Char('j'));
        assert_eq!(p(ch(' ')), Press::Act(Action::Mark));
        assert_eq!(p(key(KeyCode::Down)), Press::Act(Action::Down));
        assert_eq!(p(ctrl('n')), Press::Act(Action::Down));
        assert_eq!(p(ctrl('u')), Press::Act(Action::ClearLine));
        assert_eq!(p(key(KeyCode::Backspace)), Press::Act(Action::DeleteChar));
        let mut d = Dropdown::single("Group", groups(), None);
        d.handle(p(ch('j')));
        assert_eq!(d.query(), "j");
    }

    #[test]
    fn other_keys_stay_in_the_popup() {
        let mut d = Dropdown::single("Group", groups(), None);
        assert_eq!(d.handle(Press::Nothing), Outcome::Unchanged);
        assert_eq!(act(&mut d, Action::Refresh), Outcome::Unchanged);
    }

    #[test]
    fn renders_filter_marks_and_footer() {
        let mut d = Dropdown::multi("Stack roles on Mobile App", groups(), &["Design"]);
        typed(&mut d, "e");
        let s = screen(50, 14, |f| d.render(f, f.area(), &WidgetStyle::plain()));
        insta::assert_snapshot!(s);
    }
}
