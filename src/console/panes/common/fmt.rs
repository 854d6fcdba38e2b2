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

/// The words of `text`, a double-quoted run being one word (its quotes dropped; `""` is an
/// empty word). Inside quotes `\"` is a quote and `\\` a backslash: `"a\"b"` is `a"b`.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    // Whether the word under way has quotes, so that `""` still counts as a word.
    let mut started = false;
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '\\' if quoted => match chars.next() {
                Some(n @ ('"' | '\\')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            c if c.is_whitespace() && !quoted => {
                if started || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                started = false;
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than
/// a line is cut into pieces).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = cur.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut cur));
                continue;
            }
            // A word longer than a whole line.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_between_words_and_cuts_only_what_cannot_fit() {
        assert_eq!(
            wrap("approve: ann@acme.example (Member) which may provision", 20),
            vec![
                "approve:",
                "ann@acme.example",
                "(Member) which may",
                "provision"
            ]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), vec![""]);
        for w in 1..30 {
            let text = "the quick brown fox jumps over a_very_long_identifier_here";
            let lines = wrap(text, w);
            assert!(
                lines.iter().all(|l| l.chars().count() <= w),
                "{w}: {lines:?}"
            );
            let joined: String = lines.concat().split_whitespace().collect();
            assert_eq!(
                joined,
                text.split_whitespace().collect::<String>(),
                "nothing lost"
            );
        }
    }

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
