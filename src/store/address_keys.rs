//! Accounts are keyed by their address folded (`scim::text::fold_address`, issue 23 item 10):
//! `José@x` and `josé@x` are one account, and so one membership per org. Schema version 9
//! fills the key of existing accounts: ASCII addresses in SQL (lowercase, which is their fold),
//! the others in the binary, each engine in its migration's transaction, by this plan:
//!
//! 1. every non-ASCII account first gets a placeholder key no address folds to ([`placeholders`]),
//!    so that the unique index holds at every step;
//! 2. then, oldest first, each gets its folded key unless an account already holds it. Two
//!    accounts made before version 9 that fold alike (`JOSÉ@x` and `josé@x`) cannot be merged
//!    without losing one's memberships: the older takes the key and the newer keeps its
//!    placeholder, so new provisioning of either address reaches the older account.

/// Step 1: a key per account that no address folds to: it starts with a control character,
/// which the SCIM edge refuses in any string (`scim::text`).
pub fn placeholders(rows: &[(i64, String)]) -> Vec<(i64, String)> {
    rows.iter()
        .map(|(id, _)| (*id, format!("\u{1}unfolded account {id}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_unique_and_never_a_fold() {
        let rows = vec![(1, "JOSÉ@x".to_string()), (2, "josé@x".to_string())];
        let p = placeholders(&rows);
        assert_ne!(p[0].1, p[1].1);
        for (_, key) in p {
            assert!(key.starts_with(crate::scim::text::is_control), "{key:?}");
        }
    }
}
