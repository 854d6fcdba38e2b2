//! Where a list and its detail panel go: the detail beside the list on a wide screen, under
//! it otherwise, or alone while zoomed (Enter). The Users and Audit panes lay out this way.

use ratatui::layout::{Constraint, Layout, Rect};

/// Wider than this, the detail panel sits beside the list instead of under it.
pub const SIDE_PANEL_WIDTH: u16 = 110;

/// The list (none while zoomed) and the detail in `area`: beside it `side` columns wide from
/// [`SIDE_PANEL_WIDTH`] on; under it 8 rows tall from `tall_from` rows of `area`, else 5.
pub fn list_and_detail(
    area: Rect,
    zoomed: bool,
    side: u16,
    tall_from: u16,
) -> (Option<Rect>, Rect) {
    if zoomed {
        (None, area)
    } else if area.width >= SIDE_PANEL_WIDTH {
        let [l, d] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(side)]).areas(area);
        (Some(l), d)
    } else {
        let detail_h = if area.height >= tall_from { 8 } else { 5 };
        let [l, d] =
            Layout::vertical([Constraint::Min(5), Constraint::Length(detail_h)]).areas(area);
        (Some(l), d)
    }
}
