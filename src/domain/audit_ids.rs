//! The audit event ids an org sees (issue 23, item 7). The log's rows are numbered by one
//! sequence for the whole server; an org that saw those numbers would learn, from the gaps,
//! how much every other org writes. So each org sees the row number through a permutation
//! keyed by its own audit key (a four-round Feistel network over 64 bits, its round function
//! SHA-256 under the key) of the row number and a 24-bit tag of it, written as 16 hex digits. The same row always has the same id for
//! its org; an org's ids say nothing about other orgs' rows; and the server reads an id back
//! (a list's cursor) without keeping anything.
//!
//! Pure: the key comes from the store (`organizations.audit_key`, 128 random bits per org).

use sha2::{Digest, Sha256};

const ROUNDS: u8 = 4;

/// One org's event ids.
pub struct AuditIds {
    key: [u8; 32],
}

impl AuditIds {
    /// The ids of the org whose audit key is `org_key`.
    pub fn new(org_key: &str) -> AuditIds {
        let mut h = Sha256::new();
        h.update(b"scimdesk audit ids v1\0");
        h.update(org_key.as_bytes());
        AuditIds {
            key: h.finalize().into(),
        }
    }

    fn round(&self, i: u8, half: u32) -> u32 {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update([i]);
        h.update(half.to_be_bytes());
        let d = h.finalize();
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// The tag of row `row` under this key: 24 bits that only this key gives.
    fn tag(&self, row: u64) -> u64 {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(b"tag");
        h.update(row.to_be_bytes());
        let d = h.finalize();
        u64::from(d[0]) << 16 | u64::from(d[1]) << 8 | u64::from(d[2])
    }

    /// The id the org sees for log row `row` (rows up to 2^40, a trillion events, are told
    /// apart; the 24 bits left carry a tag, so an id made under another key is refused).
    pub fn show(&self, row: i64) -> String {
        let row = (row as u64) & ROW_MASK;
        let v = row << TAG_BITS | self.tag(row);
        let (mut l, mut r) = ((v >> 32) as u32, v as u32);
        for i in 0..ROUNDS {
            (l, r) = (r, l ^ self.round(i, r));
        }
        format!("{:016x}", (u64::from(l) << 32) | u64::from(r))
    }

    /// The log row of an id this org was shown; `None` for anything else (another form, or
    /// an id of another org's: its tag does not hold, but for one chance in 16 million).
    pub fn read(&self, id: &str) -> Option<i64> {
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u64::from_str_radix(id, 16).ok()?;
        let (mut l, mut r) = ((v >> 32) as u32, v as u32);
        for i in (0..ROUNDS).rev() {
            (l, r) = (r ^ self.round(i, l), l);
        }
        let v = (u64::from(l) << 32) | u64::from(r);
        let row = v >> TAG_BITS;
        (row > 0 && v & TAG_MASK == self.tag(row)).then_some(row as i64)
    }
}

const TAG_BITS: u32 = 24;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const ROW_MASK: u64 = (1 << (64 - TAG_BITS)) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_back_to_its_row_and_only_for_its_org() {
        let a = AuditIds::new("0123456789abcdef0123456789abcdef");
        let b = AuditIds::new("fedcba9876543210fedcba9876543210");
        for row in [1, 2, 3, 41, 42, 1 << 31, (1 << 40) - 1] {
            let id = a.show(row);
            assert_eq!(id.len(), 16, "{id}");
            assert_eq!(a.read(&id), Some(row));
            assert_ne!(b.show(row), id, "another org sees another id");
            assert_eq!(b.read(&id), None, "another org's id is refused");
        }
        assert_eq!(a.read("42"), None, "a row number is not an id");
        assert_eq!(a.read("zzzzzzzzzzzzzzzz"), None);
        assert_eq!(a.read("+123456789abcdef"), None);
    }

    #[test]
    fn consecutive_rows_do_not_look_consecutive() {
        let a = AuditIds::new("0123456789abcdef0123456789abcdef");
        let ids: Vec<u64> = (1..=50)
            .map(|row| u64::from_str_radix(&a.show(row), 16).unwrap())
            .collect();
        // The difference of two neighbours' ids says nothing of how many rows lie between.
        let close = ids
            .windows(2)
            .filter(|w| w[0].abs_diff(w[1]) < 1 << 48)
            .count();
        assert!(
            close <= 2,
            "{close} of 49 neighbour pairs are close: {ids:x?}"
        );
    }
}
