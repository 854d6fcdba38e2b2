//! Toasts: short notices of results and errors, stacked in a corner. Time is passed in, so
//! expiry is pure and testable; errors stay longer than successes.

use super::{WidgetStyle, truncate};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many toasts are kept; an older one makes way for a new one.
pub const MAX_TOASTS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Success,
    Error,
}

impl ToastKind {
    /// The symbol that says the kind without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            ToastKind::Info => "i",
            ToastKind::Success => "✓",
            ToastKind::Error => "✗",
        }
    }
    fn lifetime(self) -> Duration {
        match self {
            ToastKind::Info | ToastKind::Success => Duration::from_secs(4),
            ToastKind::Error => Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub kind: ToastKind,
    pub text: String,
    pub expires: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct Toasts {
    items: VecDeque<Toast>,
}

impl Toasts {
    pub fn push(&mut self, kind: ToastKind, text: impl Into<String>, now: Instant) {
        let text = text.into();
        // The same notice twice in a row (a retry failing again) restarts its clock instead.
        if let Some(last) = self.items.back_mut()
            && last.kind == kind
            && last.text == text
        {
            last.expires = now + kind.lifetime();
            return;
        }
        if self.items.len() == MAX_TOASTS {
            self.items.pop_front();
        }
        self.items.push_back(Toast {
            kind,
            text,
            expires: now + kind.lifetime(),
        });
    }

    /// Drops the expired toasts; true when that changed the screen.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.items.len();
        self.items.retain(|t| t.expires > now);
        self.items.len() != before
    }

    /// When the next toast expires: the event loop's next wake-up, so it ticks only while
    /// something is showing.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.items.iter().map(|t| t.expires).min()
    }

    /// Dismisses all (Esc with nothing else open).
    pub fn clear(&mut self) -> bool {
        let had = !self.items.is_empty();
        self.items.clear();
        had
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Toast> {
        self.items.iter()
    }

    /// Draws the toasts stacked upwards from the bottom-right corner of `area`, newest at the
    /// bottom, each one line inside a border.
    pub fn render(&self, f: &mut Frame, area: Rect, style: &WidgetStyle) {
        let width = area.width.min(60);
        if width < 8 {
            return;
        }
        let mut bottom = area.y + area.height;
        for t in self.items.iter().rev() {
            if bottom < area.y + 3 {
                break;
            }
            let text = truncate(&t.text, width as usize - 4);
            let w = (text.chars().count() as u16 + 4).min(width);
            let rect = Rect {
                x: area.x + area.width - w,
                y: bottom - 3,
                width: w,
                height: 3,
            };
            let s = match t.kind {
                ToastKind::Info => style.text,
                ToastKind::Success => style.success,
                ToastKind::Error => style.error,
            };
            f.render_widget(Clear, rect);
            let p = Paragraph::new(Line::from(vec![
                Span::styled(format!("{} ", t.kind.symbol()), s),
                Span::styled(text, style.text),
            ]))
            .block(Block::default().borders(Borders::ALL).border_style(s));
            f.render_widget(p, rect);
            bottom -= 3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::widgets::test_util::*;

    #[test]
    fn toasts_expire_errors_last_longer() {
        let t0 = Instant::now();
        let mut t = Toasts::default();
        t.push(ToastKind::Success, "approved ann@acme.example", t0);
        t.push(ToastKind::Error, "cannot reach the server", t0);
        assert_eq!(t.next_expiry(), Some(t0 + Duration::from_secs(4)));
        assert!(!t.expire(t0 + Duration::from_secs(3)));
        assert!(t.expire(t0 + Duration::from_secs(5)));
        assert_eq!(t.iter().count(), 1);
        assert!(t.expire(t0 + Duration::from_secs(11)));
        assert!(t.is_empty());
        assert_eq!(t.next_expiry(), None);
    }

    #[test]
    fn a_repeat_restarts_its_clock_and_the_oldest_makes_way() {
        let t0 = Instant::now();
        let mut t = Toasts::default();
        t.push(ToastKind::Error, "down", t0);
        t.push(ToastKind::Error, "down", t0 + Duration::from_secs(5));
        assert_eq!(t.iter().count(), 1);
        assert_eq!(t.next_expiry(), Some(t0 + Duration::from_secs(15)));
        for i in 0..MAX_TOASTS {
            t.push(ToastKind::Info, format!("n{i}"), t0);
        }
        let texts: Vec<_> = t.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(texts, ["n0", "n1", "n2", "n3"]);
        assert!(t.clear());
        assert!(!t.clear());
    }

    #[test]
    fn renders_symbols_newest_at_the_bottom() {
        let t0 = Instant::now();
        let mut t = Toasts::default();
        t.push(ToastKind::Success, "approved ann@acme.example", t0);
        t.push(
            ToastKind::Error,
            "this request changed; review it again, the diff is refreshed",
            t0,
        );
        let s = screen(60, 8, |f| t.render(f, f.area(), &WidgetStyle::plain()));
        insta::assert_snapshot!(s);
    }
}
