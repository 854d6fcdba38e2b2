//! RFC 3339 date-times (the SCIM `dateTime` type, RFC 7643 §2.3.5), without a date crate:
//! parsing to an instant so that filters compare dates as dates, and formatting `now`.

use std::time::{SystemTime, UNIX_EPOCH};

/// An instant as nanoseconds since the Unix epoch (UTC). Orders like time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub i128);

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Parse `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. `t`/`z` and a space for `T` are accepted,
/// as RFC 3339 §5.6 allows. Returns None for anything else, including impossible dates.
pub fn parse(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)? as i64, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + (b[i] - b'0') as i128;
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)? as i64;
            let om = num(i + 4..i + 6)? as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(y, mo, d) * 86_400 + (h as i64) * 3600 + (mi as i64) * 60 + sec as i64
            - offset_secs;
    Some(Instant(secs as i128 * 1_000_000_000 + nanos))
}

/// Format an instant as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds): fixed width, so the
/// text of two formatted instants sorts like the instants.
pub fn format(t: Instant) -> String {
    let total_ms = t.0.div_euclid(1_000_000);
    let ms = total_ms.rem_euclid(1000) as u32;
    let secs = total_ms.div_euclid(1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The current instant.
pub fn now() -> Instant {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Instant(d.as_nanos() as i128)
}

/// The current time, formatted for `meta.created` / `meta.lastModified`.
pub fn now_rfc3339() -> String {
    format(now())
}

/// A time bound as people type it, in the form the audit log writes times (so that text
/// order is time order): an RFC 3339 time, or a date meaning its midnight UTC.
pub fn bound(v: &str) -> Option<String> {
    let full = if v.len() == 10 {
        format!("{v}T00:00:00Z")
    } else {
        v.to_string()
    };
    parse(&full).map(format)
}

/// [`bound`] for the parameter `name`, or the error that says which forms it takes (the
/// admin API's `/audit?since=&until=` and the snapshot review both answer with it).
pub fn named_bound(name: &str, v: &str) -> Result<String, String> {
    bound(v).ok_or_else(|| {
        format!(
            "{name}: expected an RFC 3339 time such as 2026-12-04T09:00:00Z, or a date such as \
             2026-12-04"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_take_a_date_or_a_time_and_write_the_log_form() {
        assert_eq!(bound("2026-12-04").unwrap(), "2026-12-04T00:00:00.000Z");
        assert_eq!(
            bound("2026-12-04T09:00:00+01:00").unwrap(),
            "2026-12-04T08:00:00.000Z"
        );
        for bad in ["2026-12", "2026-13-01", "yesterday", "", "12/04/2026"] {
            assert_eq!(bound(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_utc_and_offsets_to_the_same_instant() {
        let a = parse("2011-05-13T04:42:34Z").unwrap();
        let b = parse("2011-05-13T06:42:34+02:00").unwrap();
        let c = parse("2011-05-12T23:42:34.000-05:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(format(a), "2011-05-13T04:42:34.000Z");
    }

    #[test]
    fn orders_fractions_and_rejects_nonsense() {
        assert!(
            parse("2020-01-01T00:00:00.1Z").unwrap() > parse("2020-01-01T00:00:00.09Z").unwrap()
        );
        for bad in [
            "2020-02-30T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2020-01-01",
            "2020-01-01T00:00:00",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:00.Z",
            "2020-13-01T00:00:00Z",
            "not a date at all!!",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse("2020-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn formats_round_trip_across_eras() {
        for s in [
            "1970-01-01T00:00:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "2400-02-29T12:00:00.500Z",
        ] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
