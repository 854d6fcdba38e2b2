//! The audit event ids an org sees (issue 23, item 7). The log's rows are numbered by one
//! sequence for the whole server; an org that saw those numbers would learn, from the gaps,
//! how much every other org writes. So each org sees the row number through a permutation
//! keyed by its own audit key (a four-round Feistel network over 64 bits, its round function
//! SHA-256 under the key), written as 16 hex digits. The same row always has the same id for
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

    /// The id the org sees for log row `row`.
    pub fn show(&self, row: i64) -> String {
        let v = row as u64;
        let (mut l, mut r) = ((v >> 32) as u32, v as u32);
        for i in 0..ROUNDS {
            (l, r) = (r, l ^ self.round(i, r));
        }
        format!("{:016x}", (u64::from(l) << 32) | u64::from(r))
    }

    /// The log row of an id this org was shown; `None` for anything else (another form, or
    /// no row number).
    pub fn read(&self, id: &str) -> Option<i64> {
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u64::from_str_radix(id, 16).ok()?;
        let (mut l, mut r) = ((v >> 32) as u32, v as u32);
        for i in (0..ROUNDS).rev() {
            (l, r) = (r ^ self.round(i, l), l);
        }
        let row = ((u64::from(l) << 32) | u64::from(r)) as i64;
        (row > 0).then_some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_back_to_its_row_and_only_for_its_org() {
        let a = AuditIds::new("0123456789abcdef0123456789abcdef");
        let b = AuditIds::new("fedcba9876543210fedcba9876543210");
        for row in [1, 2, 3, 41, 42, 1 << 31, (1 << 40) + 7, i64::MAX] {
            let id = a.show(row);
            assert_eq!(id.len(), 16, "{id}");
            assert_eq!(a.read(&id), Some(row));
            assert_ne!(b.show(row), id, "another org sees another id");
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
