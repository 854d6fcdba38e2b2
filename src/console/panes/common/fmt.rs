//! Text the panes write the same way: times, counts, cut cells.

pub use crate::console::widgets::truncate;

/// How much of a server time (`2026-11-23T22:15:01.123Z`) a place has room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWidth {
    /// `2026-11-23 22:15:01`
    Seconds,
    /// `2026-11-23 22:15`
    Minutes,
    /// `11-23 22:15`, for a narrow column of recent times.
    MonthDay,
}

/// A server time as people read it, to the width asked for.
pub fn short_time(t: &str, width: TimeWidth) -> String {
    let full: String = t.replace('T', " ").chars().take(19).collect();
    match width {
        TimeWidth::Seconds => full,
        TimeWidth::Minutes => full.chars().take(16).collect(),
        TimeWidth::MonthDay => full.chars().take(16).skip(5).collect(),
    }
}

/// `1 member`, `3 members`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn members(n: u64) -> String {
    plural(n, "member", "members")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_three_widths() {
        let t = "2026-11-23T22:15:01.123Z";
        assert_eq!(short_time(t, TimeWidth::Seconds), "2026-11-23 22:15:01");
        assert_eq!(short_time(t, TimeWidth::Minutes), "2026-11-23 22:15");
        assert_eq!(short_time(t, TimeWidth::MonthDay), "11-23 22:15");
        assert_eq!(plural(1, "request", "requests"), "1 request");
        assert_eq!(members(2), "2 members");
    }
}
