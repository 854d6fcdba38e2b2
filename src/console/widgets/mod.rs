//! Reusable pieces of the console: each widget owns its state, takes keys through a pure
//! `handle_key` that returns an [`Outcome`], and draws itself from that state alone.

pub mod confirm;
pub mod diff;
pub mod dropdown;
pub mod line;
pub mod list;
pub mod reason;
pub mod toast;

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

/// What a key did to a widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Not a key for this widget: the caller may handle it.
    Ignored,
    /// Handled; the widget's state changed, so redraw.
    Changed,
    /// Handled; nothing visible changed, so no redraw.
    Unchanged,
    /// The user backed out (Esc, or Enter on Cancel).
    Cancelled,
    /// The user chose.
    Submitted(T),
}

impl<T> Outcome<T> {
    /// Whether the key was for this widget (so the caller must not act on it too).
    pub fn consumed(&self) -> bool {
        !matches!(self, Outcome::Ignored)
    }
    /// Whether the screen must be redrawn.
    pub fn redraw(&self) -> bool {
        !matches!(self, Outcome::Ignored | Outcome::Unchanged)
    }
}

impl Outcome<()> {
    /// A navigation outcome in a widget whose answer has another type.
    pub fn cast<U>(self) -> Outcome<U> {
        match self {
            Outcome::Ignored => Outcome::Ignored,
            Outcome::Changed | Outcome::Submitted(()) => Outcome::Changed,
            Outcome::Unchanged => Outcome::Unchanged,
            Outcome::Cancelled => Outcome::Cancelled,
        }
    }
}

/// The styles widgets draw with. The console's theme builds one; [`WidgetStyle::plain`] is
/// for `NO_COLOR`, where markers and modifiers carry everything colour would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WidgetStyle {
    pub border: Style,
    pub title: Style,
    pub text: Style,
    pub dim: Style,
    /// The highlighted row or the focused button.
    pub cursor: Style,
    pub danger: Style,
    pub success: Style,
    pub error: Style,
}

impl Default for WidgetStyle {
    /// The 16 ANSI colours on the terminal's own background.
    fn default() -> Self {
        WidgetStyle {
            border: Style::new().fg(Color::Cyan),
            title: Style::new().add_modifier(Modifier::BOLD),
            text: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            cursor: Style::new().add_modifier(Modifier::REVERSED),
            danger: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            success: Style::new().fg(Color::Green),
            error: Style::new().fg(Color::Red),
        }
    }
}

impl WidgetStyle {
    pub fn plain() -> Self {
        WidgetStyle {
            border: Style::new(),
            title: Style::new().add_modifier(Modifier::BOLD),
            text: Style::new(),
            dim: Style::new(),
            cursor: Style::new().add_modifier(Modifier::REVERSED),
            danger: Style::new().add_modifier(Modifier::BOLD),
            success: Style::new(),
            error: Style::new().add_modifier(Modifier::BOLD),
        }
    }
}

/// A popup of at most `width`×`height` centred in `area`, shrunk to fit.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Cuts `s` to `width` columns, with an ellipsis when something was cut.
pub fn truncate(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    // By the columns each character takes on screen (an emoji two, a combining mark none),
    // so that a cut cell ends at its column and the next one starts in line.
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `s` in exactly `width` columns: cut with `…`, or padded with spaces (by the columns its
/// characters take, so that an emoji's row lines up with the others).
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = truncate(s, width);
    let used = out.width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// The columns `s` takes on screen.
pub fn text_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 24, item 11: an emoji takes two columns; cut and padded cells count them.
    #[test]
    fn cells_are_cut_and_padded_by_the_columns_they_take() {
        assert_eq!(truncate("deprovisioned", 10), "deprovisi…");
        assert_eq!(truncate("🚀 Rocket App", 6), "🚀 Ro…");
        assert_eq!(text_width(&truncate("🚀🚀🚀🚀", 5)), 5);
        assert_eq!(fit("🚀 App", 8), "🚀 App  ");
        assert_eq!(text_width(&fit("🚀 App", 8)), 8);
        assert_eq!(fit("Mobile App", 8), "Mobile …");
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    pub fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    pub fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }
    pub fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    /// Draws with `draw` on a `w`×`h` test terminal and returns the screen as text, one line
    /// per row, trailing spaces trimmed, for insta.
    pub fn screen(w: u16, h: u16, draw: impl FnOnce(&mut ratatui::Frame)) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(draw).unwrap();
        text(t.backend().buffer())
    }

    pub fn text(buf: &Buffer) -> String {
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
