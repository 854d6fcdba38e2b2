//! The one list widget of the console: the selection and scroll offset of a list, moved by
//! the key table's list actions, and a renderer that builds only the rows on screen, so a
//! 100,000-member page costs what 20 rows cost. Every list (members, the queue, groups,
//! tokens, audit events, a dropdown's choices) is a `ListWindow` drawn by `render_list`.

use super::WidgetStyle;
use crate::console::keymap::Action;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Row, Table, TableState};
use std::ops::Range;

/// Selection and scroll state. `height` is the number of body rows last laid out; the pane
/// sets it from the layout, so paging moves by what the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListWindow {
    pub selected: usize,
    pub offset: usize,
    pub height: usize,
}

impl Default for ListWindow {
    fn default() -> Self {
        ListWindow {
            selected: 0,
            offset: 0,
            height: 10,
        }
    }
}

impl ListWindow {
    /// Moves by a list action over `len` rows, `page` of them on screen; false when the
    /// action is not a movement.
    pub fn act(&mut self, action: Action, len: usize, page: usize) -> bool {
        let Some(target) = target(action, self.selected, page) else {
            return false;
        };
        self.select(target, len);
        true
    }

    /// Selects row `i` (clamped to the list) and scrolls just enough to show it.
    pub fn select(&mut self, i: usize, len: usize) {
        self.selected = if len == 0 { 0 } else { i.min(len - 1) };
        self.offset = Self::offset_for(self.selected, self.offset, len, self.height);
    }

    /// Keeps the selection valid after the list changed length (a refresh, a filter).
    pub fn clamp(&mut self, len: usize) {
        self.select(self.selected, len);
    }

    pub fn set_height(&mut self, height: usize, len: usize) {
        self.height = height.max(1);
        self.clamp(len);
    }

    fn offset_for(selected: usize, offset: usize, len: usize, height: usize) -> usize {
        let height = height.max(1);
        let mut off = offset;
        if selected < off {
            off = selected;
        } else if selected >= off + height {
            off = selected + 1 - height;
        }
        // No blank space below the last row when the list could fill the window.
        off.min(len.saturating_sub(height))
    }

    /// The rows on screen for a body of `height` rows.
    pub fn visible(&self, len: usize, height: usize) -> Range<usize> {
        let off = Self::offset_for(self.selected, self.offset, len, height);
        off..(off + height).min(len)
    }
}

/// Where a list action moves the selection from `selected`, with `page` rows on screen
/// (`usize::MAX` is the last row, whatever the length); `None` for a non-movement.
pub fn target(action: Action, selected: usize, page: usize) -> Option<usize> {
    let page = page.max(1);
    Some(match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => selected.saturating_add(1),
        Action::Top => 0,
        Action::Bottom => usize::MAX,
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => selected.saturating_add(page),
        Action::HalfPageUp => selected.saturating_sub(page.div_ceil(2)),
        Action::HalfPageDown => selected.saturating_add(page.div_ceil(2)),
        _ => return None,
    })
}

/// The width each column of a [`render_list`] table gets in `area`, so that a cell can be cut
/// with `…` to fit instead of being cut hard (the selection marker and the one-column gaps
/// taken first).
pub fn cell_widths(area: Rect, widths: &[Constraint]) -> Vec<usize> {
    ratatui::layout::Layout::horizontal(widths.to_vec())
        .spacing(1)
        .split(Rect::new(0, 0, area.width.saturating_sub(2), 1))
        .iter()
        .map(|r| r.width as usize)
        .collect()
}

/// Draws a table of `len` rows, calling `row_at` only for the visible ones. The selected row
/// gets a `›` marker as well as the cursor style, so it shows without colour.
#[allow(clippy::too_many_arguments)]
pub fn render_list<'a>(
    f: &mut Frame,
    area: Rect,
    header: Option<Row<'a>>,
    widths: &[Constraint],
    len: usize,
    window: &ListWindow,
    focused: bool,
    style: &WidgetStyle,
    mut row_at: impl FnMut(usize) -> Row<'a>,
) {
    let body = area.height.saturating_sub(u16::from(header.is_some())) as usize;
    let range = window.visible(len, body);
    let start = range.start;
    let rows: Vec<Row> = range.map(&mut row_at).collect();
    let mut table = Table::new(rows, widths.to_vec())
        .highlight_symbol("› ")
        .column_spacing(1);
    if let Some(h) = header {
        table = table.header(h.style(style.title));
    }
    if focused {
        table = table.row_highlight_style(style.cursor);
    }
    let mut state = TableState::default();
    if len > 0 {
        state.select(Some(window.selected - start));
    }
    f.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::widgets::test_util::*;
    use ratatui::widgets::Cell;

    fn win(height: usize) -> ListWindow {
        ListWindow {
            height,
            ..Default::default()
        }
    }

    #[test]
    fn moves_and_scrolls_within_bounds() {
        let mut w = win(5);
        let go = |w: &mut ListWindow, a| {
            assert!(w.act(a, 20, 5));
            (w.selected, w.offset)
        };
        assert_eq!(go(&mut w, Action::Up), (0, 0));
        assert_eq!(go(&mut w, Action::Down), (1, 0));
        assert_eq!(go(&mut w, Action::PageDown), (6, 2));
        assert_eq!(go(&mut w, Action::Bottom), (19, 15));
        assert_eq!(go(&mut w, Action::Down), (19, 15));
        assert_eq!(go(&mut w, Action::HalfPageUp), (16, 15));
        assert_eq!(go(&mut w, Action::PageUp), (11, 11));
        assert_eq!(go(&mut w, Action::Top), (0, 0));
        assert!(!w.act(Action::Approve, 20, 5), "not a movement");
    }

    #[test]
    fn a_shorter_list_pulls_the_selection_back() {
        let mut w = win(5);
        w.select(50, 100);
        w.clamp(3);
        assert_eq!((w.selected, w.offset), (2, 0));
        w.clamp(0);
        assert_eq!((w.selected, w.offset), (0, 0));
        assert_eq!(w.visible(0, 5), 0..0);
    }

    #[test]
    fn builds_only_the_visible_rows() {
        let mut w = win(4);
        w.select(500, 100_000);
        let mut built = Vec::new();
        let screen = screen(30, 5, |f| {
            render_list(
                f,
                f.area(),
                Some(Row::new(vec![Cell::from("#"), Cell::from("name")])),
                &[Constraint::Length(6), Constraint::Fill(1)],
                100_000,
                &w,
                true,
                &WidgetStyle::plain(),
                |i| {
                    built.push(i);
                    Row::new(vec![
                        Cell::from(i.to_string()),
                        Cell::from(format!("user {i}")),
                    ])
                },
            )
        });
        assert_eq!(built, [497, 498, 499, 500]);
        insta::assert_snapshot!(screen, @r"
          #      name
          497    user 497
          498    user 498
          499    user 499
        › 500    user 500
        ");
    }
}
