//! What `scimdesk db copy` shows while it runs, on stderr: on a terminal, one line per table
//! redrawn in place (table, rows done / total, a bar); otherwise (a log, a pipe, CI) a plain
//! line per table as it completes. And the summary it prints at the end.

use crate::store::copy::{CopyEvent, CopyReport};
use std::io::Write;
use std::time::{Duration, Instant};

/// Cells of the bar.
const BAR: usize = 24;

/// A terminal redraws at most this often: over SSH every byte counts.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct CopyProgress<W: Write> {
    out: W,
    terminal: bool,
    name_width: usize,
    last_draw: Option<Instant>,
}

impl<W: Write> CopyProgress<W> {
    /// `terminal`: whether `out` is one (then lines are redrawn in place).
    pub fn new(out: W, terminal: bool) -> CopyProgress<W> {
        CopyProgress {
            out,
            terminal,
            name_width: 0,
            last_draw: None,
        }
    }

    pub fn event(&mut self, event: CopyEvent) {
        self.event_at(event, Instant::now());
    }

    /// [`CopyProgress::event`] at `now` (the redraw interval counts from it).
    fn event_at(&mut self, event: CopyEvent, now: Instant) {
        // A display that cannot be written to is no reason to stop a copy.
        let _ = self.show(event, now);
    }

    fn show(&mut self, event: CopyEvent, now: Instant) -> std::io::Result<()> {
        match event {
            CopyEvent::Planned(tables) => {
                self.name_width = tables.iter().map(|t| t.0.len()).max().unwrap_or(0);
                let rows: u64 = tables.iter().map(|t| t.1).sum();
                writeln!(
                    self.out,
                    "copying {} rows in {} tables",
                    thousands(rows),
                    tables.len()
                )?;
            }
            CopyEvent::Rows { table, done, total } if self.terminal => {
                if self
                    .last_draw
                    .is_some_and(|t| now.duration_since(t) < REDRAW_EVERY)
                {
                    return Ok(());
                }
                self.last_draw = Some(now);
                let line = self.line(table, done, total);
                write!(self.out, "\r{line}\x1b[K")?;
            }
            CopyEvent::Rows { .. } => {}
            CopyEvent::TableDone { table, rows } => {
                self.last_draw = None;
                if self.terminal {
                    let line = self.line(table, rows, rows);
                    writeln!(self.out, "\r{line}\x1b[K")?;
                } else {
                    writeln!(
                        self.out,
                        "{table:<w$}  {} rows",
                        thousands(rows),
                        w = self.name_width
                    )?;
                }
            }
            CopyEvent::Finishing => {
                writeln!(
                    self.out,
                    "checking the counts, setting the id sequences, committing"
                )?;
            }
        }
        self.out.flush()
    }

    fn line(&self, table: &str, done: u64, total: u64) -> String {
        // An empty table is complete from the start.
        let part = u128::from(done.min(total));
        let filled = (part * BAR as u128)
            .checked_div(u128::from(total))
            .map_or(BAR, |f| f as usize);
        let percent = (part * 100).checked_div(u128::from(total)).unwrap_or(100);
        format!(
            "{table:<w$}  {:>11} / {:<11} [{}{}] {percent:>3}%",
            thousands(done),
            thousands(total),
            "#".repeat(filled),
            ".".repeat(BAR - filled),
            w = self.name_width
        )
    }
}

/// The summary of a finished copy: rows per table, the total, the time and the rate.
pub fn summary(report: &CopyReport, from: &str, to: &str) -> String {
    let width = report
        .tables
        .iter()
        .map(|t| t.0.len())
        .chain(["total".len()])
        .max()
        .unwrap_or(0);
    let rows = report.rows();
    let secs = report.elapsed.as_secs_f64();
    let mut out = format!("Copied {from} to {to}:\n");
    for (table, n) in &report.tables {
        out.push_str(&format!("  {table:<width$}  {:>11}\n", thousands(*n)));
    }
    out.push_str(&format!("  {:<width$}  {:>11}\n", "total", thousands(rows)));
    let rate = if secs > 0.0 {
        format!(", {} rows/s", thousands((rows as f64 / secs) as u64))
    } else {
        String::new()
    };
    out.push_str(&format!("in {secs:.1} s{rate}\n"));
    out
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(terminal: bool) -> String {
        let mut out = Vec::new();
        let mut p = CopyProgress::new(&mut out, terminal);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let planned = vec![("accounts", 2_000), ("group_members", 0)];
        p.event_at(CopyEvent::Planned(planned), at(0));
        let rows = |done| CopyEvent::Rows {
            table: "accounts",
            done,
            total: 2_000,
        };
        p.event_at(rows(500), at(0));
        // Within the redraw interval: not drawn on a terminal.
        p.event_at(rows(1_000), at(50));
        p.event_at(rows(1_500), at(150));
        let done = |table, rows| CopyEvent::TableDone { table, rows };
        p.event_at(done("accounts", 2_000), at(160));
        p.event_at(done("group_members", 0), at(170));
        p.event_at(CopyEvent::Finishing, at(180));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_pipe_gets_a_plain_line_per_table() {
        assert_eq!(
            run(false),
            "copying 2,000 rows in 2 tables\n\
             accounts       2,000 rows\n\
             group_members  0 rows\n\
             checking the counts, setting the id sequences, committing\n"
        );
    }

    #[test]
    fn a_terminal_gets_a_bar_redrawn_in_place() {
        let out = run(true);
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines[0], "copying 2,000 rows in 2 tables");
        assert_eq!(
            lines[1],
            "\raccounts               500 / 2,000       [######..................]  25%\x1b[K\
             \raccounts             1,500 / 2,000       [##################......]  75%\x1b[K\
             \raccounts             2,000 / 2,000       [########################] 100%\x1b[K"
        );
        assert_eq!(
            lines[2],
            "\rgroup_members            0 / 0           [########################] 100%\x1b[K"
        );
        assert!(
            !out.contains("1,000 /"),
            "a redraw within 100 ms is skipped"
        );
    }

    #[test]
    fn the_summary_counts_every_table_and_the_rate() {
        let report = CopyReport {
            tables: vec![("organizations", 2), ("accounts", 1_234_567)],
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(
            summary(&report, "sqlite:a.db", "postgres://h/d"),
            "Copied sqlite:a.db to postgres://h/d:\n\
             \x20 organizations            2\n\
             \x20 accounts         1,234,567\n\
             \x20 total            1,234,569\n\
             in 2.0 s, 617,284 rows/s\n"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
    }
}
