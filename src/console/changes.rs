//! What changed between an older snapshot and the one under review (`scimdesk review NEW
//! --against OLD`), indexed the way the console's panes look things up: members by their id
//! in NEW, mappings by group id, settings by name. The differences themselves come from
//! [`crate::snapshot::diff`], computed once when the review opens; this module only indexes
//! and words them, in the words of `scimdesk diff`'s table.
//!
//! For panes marking rows:
//!
//! ```ignore
//! if let Some(c) = cx.changes.as_ref().and_then(|c| c.member(&member.id)) {
//!     // c.mark(): "+", "-" or "~"; c.describe(): "org role Member → Admin; + stack role …"
//! }
//! if let Some(c) = cx.changes.as_ref().and_then(|c| c.group(&group.id)) { /* same */ }
//! // Members who left have no row in NEW: `changes.left()` lists them, with the same
//! // `mark()` ("-") and `describe()`.
//! ```

use crate::snapshot::Snapshot;
use crate::snapshot::diff::{
    self, MappingChange, MappingDiff, MemberDiff, Presence, Row, SettingChange, SnapshotDiff,
};
use std::collections::HashMap;

/// One member's differences, for a row mark and a one-line description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    pub diff: MemberDiff,
}

impl MemberChange {
    /// `+` joined or only gained, `-` only lost, `~` anything else (a state change, or gains
    /// and losses together).
    pub fn mark(&self) -> &'static str {
        let d = &self.diff;
        match d.presence {
            Presence::Joined => return "+",
            Presence::Left => return "-",
            Presence::Stayed => {}
        }
        sign_of(&diff::member_rows(d))
    }

    pub fn joined(&self) -> bool {
        self.diff.presence == Presence::Joined
    }

    /// Every difference of this member, `; `-separated, in the table's words without the
    /// email: `org role Member → Admin; + stack role Website / Content Manager`.
    pub fn describe(&self) -> String {
        self.parts().join("; ")
    }

    /// The same differences one by one, for a panel that lists them a line each.
    pub fn parts(&self) -> Vec<String> {
        parts(&diff::member_rows(&self.diff))
    }
}

/// One group's mapping differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub diff: MappingDiff,
}

impl GroupChange {
    /// `+` mapping added, `-` mapping removed, `~` mapping changed.
    pub fn mark(&self) -> &'static str {
        match self.diff.change {
            MappingChange::Added => "+",
            MappingChange::Removed => "-",
            MappingChange::Changed => "~",
        }
    }

    /// `mapping org role Member → Admin; + mapping stack role Website / Developer`.
    pub fn describe(&self) -> String {
        self.parts().join("; ")
    }

    /// The same differences one by one.
    pub fn parts(&self) -> Vec<String> {
        parts(&diff::mapping_rows(&self.diff))
    }
}

fn sign_of(rows: &[Row]) -> &'static str {
    let gains = rows.iter().any(|r| r.sign == "+");
    let losses = rows.iter().any(|r| r.sign == "-");
    let changes = rows.iter().any(|r| r.sign == "~");
    match (gains, losses, changes) {
        (true, false, false) => "+",
        (false, true, false) => "-",
        _ => "~",
    }
}

fn parts(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| match r.sign {
            "~" => format!("{} {}", r.what, r.change),
            s => format!("{s} {} {}", r.what, r.change),
        })
        .collect()
}

/// The differences between OLD and the snapshot under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    against: String,
    /// OLD's org uid when it is not NEW's: the comparison is of two organizations.
    other_org: Option<String>,
    diff: SnapshotDiff,
    /// One per difference: what `count` counts.
    rows: Vec<Row>,
    /// The overlay's text, made once: the overlay draws a slice of it per frame.
    lines: Vec<String>,
    members: HashMap<String, MemberChange>,
    /// In OLD, not in NEW: no id of NEW finds them.
    left: Vec<MemberChange>,
    groups: HashMap<String, GroupChange>,
}

impl Changes {
    /// Diffs `old` against `new` (once: every lookup afterwards reads the result). `against`
    /// names OLD for people: its file name.
    pub fn new(old: &Snapshot, new: &Snapshot, against: impl Into<String>) -> Changes {
        let d = diff::diff(old, new);
        // The diff matches people by email, in any case; rows in NEW are looked up by id.
        let id_of: HashMap<String, &str> = new
            .members
            .iter()
            .map(|m| (m.email.to_lowercase(), m.id.as_str()))
            .collect();
        let members = d
            .members
            .iter()
            .filter_map(|m| {
                let id = id_of.get(&m.email.to_lowercase())?;
                Some((id.to_string(), MemberChange { diff: m.clone() }))
            })
            .collect();
        let left = d
            .members
            .iter()
            .filter(|m| m.presence == Presence::Left)
            .map(|m| MemberChange { diff: m.clone() })
            .collect();
        let groups = d
            .mappings
            .iter()
            .map(|m| (m.group_id.clone(), GroupChange { diff: m.clone() }))
            .collect();
        let rows = diff::rows(&d);
        let lines = if rows.is_empty() {
            vec!["no differences".to_string()]
        } else {
            let mut l = diff::table_lines(&rows);
            l.push(String::new());
            l.push(diff::summary(&d));
            l
        };
        Changes {
            against: against.into(),
            other_org: (old.org.uid != new.org.uid).then(|| old.org.uid.clone()),
            rows,
            lines,
            diff: d,
            members,
            left,
            groups,
        }
    }

    /// OLD's name, as the header and the overlay show it.
    pub fn against(&self) -> &str {
        &self.against
    }

    /// OLD's org uid, when OLD is a snapshot of another organization.
    pub fn other_org(&self) -> Option<&str> {
        self.other_org.as_deref()
    }

    /// How many differences: one per line of `scimdesk diff`'s table.
    pub fn count(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many members of OLD are not in NEW (no row shows them).
    pub fn left_count(&self) -> usize {
        self.diff
            .members
            .iter()
            .filter(|m| m.presence == Presence::Left)
            .count()
    }

    /// The member with this id in NEW, when something about them changed (joined included).
    pub fn member(&self, member_id: &str) -> Option<&MemberChange> {
        self.members.get(member_id)
    }

    /// The mapping of this group, when it was added, removed or changed.
    pub fn group(&self, group_id: &str) -> Option<&GroupChange> {
        self.groups.get(group_id)
    }

    /// A SCIM setting by the diff's dotted name (`enabled`, `sso_role_mapping`,
    /// `approval.provision`, `approval.access_increase`, `approval.deprovision`,
    /// `user_name_is_email`, `tokens`, `org.name`), when it changed.
    pub fn setting(&self, name: &str) -> Option<&SettingChange> {
        self.diff.settings.iter().find(|s| s.setting == name)
    }

    /// The members of OLD that are not in NEW: no row shows them, so they are listed here
    /// (and in the overlay).
    pub fn left(&self) -> &[MemberChange] {
        &self.left
    }

    /// The whole diff, as `scimdesk diff --json` prints it.
    pub fn diff(&self) -> &SnapshotDiff {
        &self.diff
    }

    /// The overlay's lines: the table of `scimdesk diff`, header first, then its summary;
    /// `no differences` when there are none.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The header badge: `Δ 12 changes vs q1.json`.
    pub fn badge(&self) -> String {
        match self.count() {
            0 => format!("Δ no changes vs {}", self.against),
            1 => format!("Δ 1 change vs {}", self.against),
            n => format!("Δ {n} changes vs {}", self.against),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/snapshot-v1.json");

    fn fixture() -> Snapshot {
        crate::snapshot::read(FIXTURE.as_bytes()).unwrap()
    }

    /// Bob gains Content Manager, Ann leaves, Eve joins (as Ann's copy with a new id), Dan's
    /// email changes case only, the Editors mapping becomes Admin, deprovisioning needs
    /// approval.
    pub(crate) fn pair() -> (Snapshot, Snapshot) {
        let old = fixture();
        let mut new = old.clone();
        let bob = new.members.iter_mut().find(|m| m.id == "u-bob").unwrap();
        let cm = bob.requested.as_ref().unwrap().stack_roles[0].clone();
        bob.granted.as_mut().unwrap().stack_roles.push(cm);
        let ann = new.members.iter().position(|m| m.id == "u-ann").unwrap();
        let mut eve = new.members.remove(ann);
        eve.id = "u-eve".into();
        eve.email = "eve@acme.example".into();
        new.members.push(eve);
        let dan = new.members.iter_mut().find(|m| m.id == "u-dan").unwrap();
        dan.email = "DAN@acme.example".into();
        dan.id = "u-dan-2".into();
        let editors = new
            .mappings
            .iter_mut()
            .find(|m| m.group_id == "g-editors")
            .unwrap();
        editors.org_role = crate::domain::access::OrgRole::Admin;
        new.scim.approval.deprovision = true;
        (old, new)
    }

    #[test]
    fn members_are_found_by_their_id_in_the_new_snapshot() {
        let (old, new) = pair();
        let c = Changes::new(&old, &new, "q1.json");
        let bob = c.member("u-bob").expect("bob changed");
        assert_eq!(bob.mark(), "+");
        assert_eq!(
            bob.describe(),
            "+ stack role Website / Content Manager",
            "{bob:?}"
        );
        let eve = c.member("u-eve").expect("eve joined");
        assert!(eve.joined());
        assert_eq!(eve.mark(), "+");
        assert_eq!(
            eve.describe(),
            "+ joined as active, org role Admin; + stack role Mobile app / Admin; \
             + stack role Website / Developer"
        );
        assert_eq!(
            eve.parts(),
            [
                "+ joined as active, org role Admin",
                "+ stack role Mobile app / Admin",
                "+ stack role Website / Developer"
            ]
        );
        // Same person under another id and case: not a change at all.
        assert!(c.member("u-dan-2").is_none());
        assert!(c.member("u-dan").is_none());
        assert!(c.member("u-cat").is_none());
        // Ann left: no id in NEW shows her, but she is listed.
        assert!(c.member("u-ann").is_none());
        let left: Vec<(&str, &str)> = c
            .left()
            .iter()
            .map(|m| (m.diff.email.as_str(), m.mark()))
            .collect();
        assert_eq!(left, [("ann@acme.example", "-")]);
        assert!(
            c.left()[0]
                .describe()
                .starts_with("- left was active, org role Admin; - stack role"),
            "{}",
            c.left()[0].describe()
        );
    }

    #[test]
    fn groups_and_settings_are_marked() {
        let (old, new) = pair();
        let c = Changes::new(&old, &new, "q1.json");
        let ed = c.group("g-editors").expect("editors changed");
        assert_eq!(ed.mark(), "~");
        assert_eq!(ed.describe(), "mapping org role Member → Admin");
        assert!(c.group("g-engineering").is_none());
        let s = c.setting("approval.deprovision").unwrap();
        assert_eq!((s.from.as_str(), s.to.as_str()), ("false", "true"));
        assert!(c.setting("enabled").is_none());
    }

    #[test]
    fn the_overlay_lines_are_the_diff_table_and_the_badge_counts_them() {
        let (old, new) = pair();
        let c = Changes::new(&old, &new, "q1.json");
        let table = diff::render_table(&diff::diff(&old, &new));
        let lines = c.lines();
        assert_eq!(lines.join("\n") + "\n", table);
        // Header, blank line and summary aside, one line per difference.
        assert_eq!(c.count(), lines.len() - 3);
        assert_eq!(c.count(), 9, "{table}");
        assert_eq!(c.badge(), "Δ 9 changes vs q1.json");
        assert_eq!(c.left_count(), 1);
        assert_eq!(c.other_org(), None);
    }

    #[test]
    fn a_snapshot_against_itself_has_no_changes() {
        let s = fixture();
        let c = Changes::new(&s, &s, "same.json");
        assert!(c.is_empty());
        assert_eq!(c.lines(), ["no differences"]);
        assert_eq!(c.badge(), "Δ no changes vs same.json");
        assert_eq!(c.left_count(), 0);
        assert!(c.member("u-ann").is_none());
    }

    #[test]
    fn losses_only_mark_minus_and_mixed_mark_tilde() {
        let old = fixture();
        let mut new = old.clone();
        let ann = new.members.iter_mut().find(|m| m.id == "u-ann").unwrap();
        ann.granted.as_mut().unwrap().stack_roles.remove(0);
        let c = Changes::new(&old, &new, "o");
        assert_eq!(c.member("u-ann").unwrap().mark(), "-");
        let mut new2 = new.clone();
        let ann = new2.members.iter_mut().find(|m| m.id == "u-ann").unwrap();
        ann.state = crate::domain::approval::MemberState::Removed;
        ann.granted = None;
        let c = Changes::new(&old, &new2, "o");
        let a = c.member("u-ann").unwrap();
        assert_eq!(a.mark(), "~");
        assert!(
            a.describe()
                .starts_with("state active → removed; - org role Admin → none"),
            "{}",
            a.describe()
        );
        let mut other = new.clone();
        other.org.uid = "globex".into();
        assert_eq!(
            Changes::new(&old, &other, "o").other_org(),
            Some("acme0001")
        );
        assert_eq!(Changes::new(&other, &new, "o").other_org(), Some("globex"));
    }
}
