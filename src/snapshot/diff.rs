//! Who gained or lost which access between two snapshots, and what changed in the mappings
//! and settings that explain it. Pure: two snapshots in, one [`SnapshotDiff`] out.
//!
//! Members are matched by email (case-insensitive), not by id: an account deprovisioned and
//! provisioned again keeps its email, and the auditor's question is about a person. Access is
//! the granted access (what was in force), since requested access is not yet anyone's.

use super::{Mapping, Member, Snapshot, StackRoleRef};
use crate::domain::access::OrgRole;
use crate::domain::approval::MemberState;
use crate::scim::text::escape_controls;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotDiff {
    /// Members that joined, left, or whose state or granted access changed; by email.
    pub members: Vec<MemberDiff>,
    /// Mappings added, removed or changed; by group name.
    pub mappings: Vec<MappingDiff>,
    /// SCIM settings that changed, by name.
    pub settings: Vec<SettingChange>,
}

impl SnapshotDiff {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.mappings.is_empty() && self.settings.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Joined,
    Left,
    Stayed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberDiff {
    pub email: String,
    pub presence: Presence,
    /// `None` on the side where the member is absent.
    pub state_from: Option<MemberState>,
    pub state_to: Option<MemberState>,
    /// The granted org role; `None` means no access on that side.
    pub org_role_from: Option<OrgRole>,
    pub org_role_to: Option<OrgRole>,
    pub stack_roles_gained: Vec<StackRoleRef>,
    pub stack_roles_lost: Vec<StackRoleRef>,
}

impl MemberDiff {
    pub fn org_role_changed(&self) -> bool {
        self.org_role_from != self.org_role_to
    }
    pub fn state_changed(&self) -> bool {
        self.state_from != self.state_to
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingChange {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingDiff {
    pub group_id: String,
    pub group_name: String,
    pub change: MappingChange,
    pub org_role_from: Option<OrgRole>,
    pub org_role_to: Option<OrgRole>,
    pub stack_roles_added: Vec<StackRoleRef>,
    pub stack_roles_removed: Vec<StackRoleRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    /// A dotted name: `enabled`, `approval.provision`, `tokens`...
    pub setting: String,
    pub from: String,
    pub to: String,
}

/// The identity of a stack role; names are for display and may be renamed.
fn key(r: &StackRoleRef) -> (&str, &str) {
    (&r.stack_uid, &r.role_uid)
}

/// (in `new` only, in `old` only), each in the order of its side.
fn set_diff(old: &[StackRoleRef], new: &[StackRoleRef]) -> (Vec<StackRoleRef>, Vec<StackRoleRef>) {
    let o: HashMap<_, _> = old.iter().map(|r| (key(r), r)).collect();
    let n: HashMap<_, _> = new.iter().map(|r| (key(r), r)).collect();
    let mut gained: Vec<StackRoleRef> = new
        .iter()
        .filter(|r| !o.contains_key(&key(r)))
        .cloned()
        .collect();
    let mut lost: Vec<StackRoleRef> = old
        .iter()
        .filter(|r| !n.contains_key(&key(r)))
        .cloned()
        .collect();
    gained.sort();
    gained.dedup();
    lost.sort();
    lost.dedup();
    (gained, lost)
}

fn granted_parts(m: Option<&Member>) -> (Option<OrgRole>, &[StackRoleRef]) {
    match m.and_then(|m| m.granted.as_ref()) {
        Some(a) => (Some(a.org_role), &a.stack_roles),
        None => (None, &[]),
    }
}

fn member_diff(email: &str, old: Option<&Member>, new: Option<&Member>) -> Option<MemberDiff> {
    let (org_from, stack_from) = granted_parts(old);
    let (org_to, stack_to) = granted_parts(new);
    let (gained, lost) = set_diff(stack_from, stack_to);
    let d = MemberDiff {
        email: email.to_string(),
        presence: match (old, new) {
            (None, Some(_)) => Presence::Joined,
            (Some(_), None) => Presence::Left,
            _ => Presence::Stayed,
        },
        state_from: old.map(|m| m.state),
        state_to: new.map(|m| m.state),
        org_role_from: org_from,
        org_role_to: org_to,
        stack_roles_gained: gained,
        stack_roles_lost: lost,
    };
    let changed = d.presence != Presence::Stayed
        || d.state_changed()
        || d.org_role_changed()
        || !d.stack_roles_gained.is_empty()
        || !d.stack_roles_lost.is_empty();
    changed.then_some(d)
}

fn mapping_diff(old: Option<&Mapping>, new: Option<&Mapping>) -> Option<MappingDiff> {
    let any = new.or(old)?;
    let (added, removed) = set_diff(
        old.map_or(&[][..], |m| &m.stack_roles),
        new.map_or(&[][..], |m| &m.stack_roles),
    );
    let change = match (old, new) {
        (None, Some(_)) => MappingChange::Added,
        (Some(_), None) => MappingChange::Removed,
        (Some(o), Some(n)) => {
            if o.org_role == n.org_role && added.is_empty() && removed.is_empty() {
                return None;
            }
            MappingChange::Changed
        }
        (None, None) => return None,
    };
    Some(MappingDiff {
        group_id: any.group_id.clone(),
        group_name: any.group_name.clone(),
        change,
        org_role_from: old.map(|m| m.org_role),
        org_role_to: new.map(|m| m.org_role),
        stack_roles_added: added,
        stack_roles_removed: removed,
    })
}

fn settings_diff(old: &Snapshot, new: &Snapshot) -> Vec<SettingChange> {
    let (o, n) = (&old.scim, &new.scim);
    let mut out = Vec::new();
    let mut flag = |name: &str, a: bool, b: bool| {
        if a != b {
            out.push(SettingChange {
                setting: name.to_string(),
                from: a.to_string(),
                to: b.to_string(),
            });
        }
    };
    flag("enabled", o.enabled, n.enabled);
    flag("sso_role_mapping", o.sso_role_mapping, n.sso_role_mapping);
    flag(
        "approval.provision",
        o.approval.provision,
        n.approval.provision,
    );
    flag(
        "approval.access_increase",
        o.approval.access_increase,
        n.approval.access_increase,
    );
    flag(
        "approval.deprovision",
        o.approval.deprovision,
        n.approval.deprovision,
    );
    flag(
        "user_name_is_email",
        o.user_name_is_email,
        n.user_name_is_email,
    );
    // Tokens by id, shown by label: who may provision changed.
    let labels = |t: &[super::TokenLabel]| -> BTreeMap<String, String> {
        t.iter().map(|t| (t.id.clone(), t.label.clone())).collect()
    };
    let (ot, nt) = (labels(&o.tokens), labels(&n.tokens));
    if ot.keys().ne(nt.keys()) {
        let list = |m: &BTreeMap<String, String>| {
            let mut v: Vec<&str> = m.values().map(String::as_str).collect();
            v.sort();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        out.push(SettingChange {
            setting: "tokens".into(),
            from: list(&ot),
            to: list(&nt),
        });
    }
    if old.org.name != new.org.name {
        out.push(SettingChange {
            setting: "org.name".into(),
            from: old.org.name.clone(),
            to: new.org.name.clone(),
        });
    }
    out
}

/// What changed from `old` to `new`. Members are sorted by email, mappings by group name.
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let by_email = |s: &'_ Snapshot| -> HashMap<String, usize> {
        s.members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.email.to_lowercase(), i))
            .collect()
    };
    let (oi, ni) = (by_email(old), by_email(new));
    let mut members: Vec<MemberDiff> = Vec::new();
    for (email, &i) in &oi {
        let n = ni.get(email).map(|&j| &new.members[j]);
        members.extend(member_diff(email, Some(&old.members[i]), n));
    }
    for (email, &j) in &ni {
        if !oi.contains_key(email) {
            members.extend(member_diff(email, None, Some(&new.members[j])));
        }
    }
    members.sort_by(|a, b| a.email.cmp(&b.email));

    let by_group = |s: &'_ Snapshot| -> HashMap<String, usize> {
        s.mappings
            .iter()
            .enumerate()
            .map(|(i, m)| (m.group_id.clone(), i))
            .collect()
    };
    let (om, nm) = (by_group(old), by_group(new));
    let mut mappings: Vec<MappingDiff> = Vec::new();
    for (g, &i) in &om {
        let n = nm.get(g).map(|&j| &new.mappings[j]);
        mappings.extend(mapping_diff(Some(&old.mappings[i]), n));
    }
    for (g, &j) in &nm {
        if !om.contains_key(g) {
            mappings.extend(mapping_diff(None, Some(&new.mappings[j])));
        }
    }
    mappings.sort_by(|a, b| {
        (a.group_name.as_str(), a.group_id.as_str())
            .cmp(&(b.group_name.as_str(), b.group_id.as_str()))
    });

    SnapshotDiff {
        members,
        mappings,
        settings: settings_diff(old, new),
    }
}

/// A role as the console writes it (Member, Admin, Owner).
fn role(r: Option<OrgRole>) -> String {
    r.map_or("none".to_string(), |r| r.to_string())
}

fn state(s: Option<MemberState>) -> String {
    s.map_or("absent".to_string(), |s| s.as_str().to_string())
}

fn stack_role(r: &StackRoleRef) -> String {
    format!("{} / {}", r.stack_name, r.role_name)
}

/// One difference as the table prints it: `sign` is `+` for a gain, `-` for a loss, `~` for
/// a change, so that it reads without colour and greps well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub sign: &'static str,
    pub who: String,
    pub what: String,
    pub change: String,
}

/// Every difference, one row each, in the table's order: members, mappings, settings. The
/// table of `scimdesk diff` and the console's changes overlay are both made of these rows.
pub fn rows(d: &SnapshotDiff) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for m in &d.members {
        rows.extend(member_rows(m));
    }
    for m in &d.mappings {
        rows.extend(mapping_rows(m));
    }
    for s in &d.settings {
        rows.push(setting_row(s));
    }
    rows
}

/// The rows of one member, in the table's words.
pub fn member_rows(m: &MemberDiff) -> Vec<Row> {
    let mut rows = Vec::new();
    match m.presence {
        Presence::Joined => rows.push(row(
            "+",
            m.email.clone(),
            "joined".into(),
            format!("as {}, org role {}", state(m.state_to), role(m.org_role_to)),
        )),
        Presence::Left => rows.push(row(
            "-",
            m.email.clone(),
            "left".into(),
            format!(
                "was {}, org role {}",
                state(m.state_from),
                role(m.org_role_from)
            ),
        )),
        Presence::Stayed => {
            if m.state_changed() {
                rows.push(row(
                    "~",
                    m.email.clone(),
                    "state".into(),
                    format!("{} → {}", state(m.state_from), state(m.state_to)),
                ));
            }
            if m.org_role_changed() {
                let sign = match (m.org_role_from, m.org_role_to) {
                    (None, _) => "+",
                    (_, None) => "-",
                    (Some(a), Some(b)) if b > a => "+",
                    _ => "-",
                };
                rows.push(row(
                    sign,
                    m.email.clone(),
                    "org role".into(),
                    format!("{} → {}", role(m.org_role_from), role(m.org_role_to)),
                ));
            }
        }
    }
    for r in &m.stack_roles_gained {
        rows.push(row(
            "+",
            m.email.clone(),
            "stack role".into(),
            stack_role(r),
        ));
    }
    for r in &m.stack_roles_lost {
        rows.push(row(
            "-",
            m.email.clone(),
            "stack role".into(),
            stack_role(r),
        ));
    }
    rows
}

/// The rows of one mapping, in the table's words.
pub fn mapping_rows(m: &MappingDiff) -> Vec<Row> {
    let mut rows = Vec::new();
    let who = format!("group {}", m.group_name);
    match m.change {
        MappingChange::Added => rows.push(row(
            "+",
            who.clone(),
            "mapping added".into(),
            format!("org role {}", role(m.org_role_to)),
        )),
        MappingChange::Removed => rows.push(row(
            "-",
            who.clone(),
            "mapping removed".into(),
            format!("was org role {}", role(m.org_role_from)),
        )),
        MappingChange::Changed => {
            if m.org_role_from != m.org_role_to {
                rows.push(row(
                    "~",
                    who.clone(),
                    "mapping org role".into(),
                    format!("{} → {}", role(m.org_role_from), role(m.org_role_to)),
                ));
            }
        }
    }
    for r in &m.stack_roles_added {
        rows.push(row(
            "+",
            who.clone(),
            "mapping stack role".into(),
            stack_role(r),
        ));
    }
    for r in &m.stack_roles_removed {
        rows.push(row(
            "-",
            who.clone(),
            "mapping stack role".into(),
            stack_role(r),
        ));
    }
    rows
}

/// The row of one setting, in the table's words.
pub fn setting_row(s: &SettingChange) -> Row {
    row(
        "~",
        "scim settings".into(),
        s.setting.clone(),
        format!("{} → {}", s.from, s.to),
    )
}

fn row(sign: &'static str, who: String, what: String, change: String) -> Row {
    Row {
        sign,
        who,
        what,
        change,
    }
}

/// The rows under a `WHO WHAT CHANGE` header, columns aligned, one string per line (the
/// header first).
pub fn table_lines(rows: &[Row]) -> Vec<String> {
    let header = Row {
        sign: "",
        who: "WHO".into(),
        what: "WHAT".into(),
        change: "CHANGE".into(),
    };
    // What a snapshot holds is printed escaped (no control character reaches the terminal)
    // and padded by hand: a cell of any length lines up, where a format width would panic.
    let cells: Vec<[String; 3]> = std::iter::once(&header)
        .chain(rows.iter())
        .map(|r| [&r.who, &r.what, &r.change].map(|c| escape_controls(c).into_owned()))
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w1, w2) = (width(0), width(1));
    let pad = |s: &str, w: usize| {
        let mut out = s.to_string();
        out.extend(std::iter::repeat_n(
            ' ',
            w.saturating_sub(s.chars().count()),
        ));
        out
    };
    std::iter::once(&header)
        .chain(rows.iter())
        .zip(&cells)
        .map(|(r, [who, what, change])| {
            format!(
                "{:1} {}  {}  {}",
                r.sign,
                pad(who, w1),
                pad(what, w2),
                change
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

/// The closing count, naming every kind of member change that happened:
/// `4 members changed (1 joined, 1 pending → active, 1 active → removed, 1 access changed),
/// 1 mapping, 2 settings`. A member counts once: by presence, else by its state move, else as
/// an access change (role or stack roles with the same state).
pub fn summary(d: &SnapshotDiff) -> String {
    let mut parts: Vec<(String, usize)> = Vec::new();
    let mut bump = |label: String| match parts.iter_mut().find(|(l, _)| *l == label) {
        Some((_, n)) => *n += 1,
        None => parts.push((label, 1)),
    };
    for m in &d.members {
        match m.presence {
            Presence::Joined => bump("joined".into()),
            Presence::Left => bump("left".into()),
            Presence::Stayed if m.state_changed() => {
                bump(format!("{} → {}", state(m.state_from), state(m.state_to)))
            }
            Presence::Stayed => bump("access changed".into()),
        }
    }
    // Arrivals and departures first, access changes last; moves in the order met.
    parts.sort_by_key(|(l, _)| match l.as_str() {
        "joined" => 0,
        "left" => 1,
        "access changed" => 3,
        _ => 2,
    });
    let mut members = format!("{} changed", plural(d.members.len(), "member", "members"));
    if !parts.is_empty() {
        let parts: Vec<String> = parts.iter().map(|(l, n)| format!("{n} {l}")).collect();
        members.push_str(&format!(" ({})", parts.join(", ")));
    }
    format!(
        "{members}, {}, {}",
        plural(d.mappings.len(), "mapping", "mappings"),
        plural(d.settings.len(), "setting", "settings")
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A readable table: one line per change (see [`Row`]), then the summary.
pub fn render_table(d: &SnapshotDiff) -> String {
    let rows = rows(d);
    if rows.is_empty() {
        return "no differences\n".to_string();
    }
    let mut out = String::new();
    for line in table_lines(&rows) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&summary(d));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{
        Access, Approval, GroupRef, OrgInfo, ScimSettings, Snapshot, TokenLabel,
    };

    fn sr(stack: &str, role: &str) -> StackRoleRef {
        StackRoleRef {
            stack_uid: stack.into(),
            stack_name: format!("{stack} stack"),
            role_uid: role.into(),
            role_name: role.into(),
        }
    }

    fn base() -> Snapshot {
        Snapshot::new(
            OrgInfo {
                uid: "o1".into(),
                name: "Acme".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
            },
            ScimSettings {
                enabled: true,
                sso_role_mapping: false,
                approval: Approval {
                    provision: true,
                    access_increase: true,
                    deprovision: false,
                },
                user_name_is_email: true,
                tokens: vec![TokenLabel {
                    id: "t1".into(),
                    label: "okta".into(),
                    created_at: "2026-01-01T00:00:00Z".into(),
                    last_used_at: None,
                }],
            },
            "2026-02-01T00:00:00Z".into(),
        )
    }

    fn member(
        email: &str,
        state: MemberState,
        access: Option<(OrgRole, Vec<StackRoleRef>)>,
    ) -> Member {
        Member {
            id: format!("id-{email}"),
            email: email.into(),
            display_name: None,
            state,
            source: "scim".into(),
            groups: vec![GroupRef {
                id: "g1".into(),
                display_name: "Devs".into(),
            }],
            granted: access.map(|(org_role, stack_roles)| Access {
                org_role,
                stack_roles,
            }),
            requested: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn mapping(group: &str, org_role: OrgRole, stack_roles: Vec<StackRoleRef>) -> Mapping {
        Mapping {
            group_id: group.into(),
            group_name: format!("{group} name"),
            org_role,
            stack_roles,
            updated_at: None,
            updated_by: None,
        }
    }

    #[test]
    fn identical_snapshots_have_no_differences() {
        let mut s = base();
        s.members.push(member(
            "ann@x",
            MemberState::Active,
            Some((OrgRole::Member, vec![sr("s1", "developer")])),
        ));
        s.mappings
            .push(mapping("g1", OrgRole::Member, vec![sr("s1", "developer")]));
        let d = diff(&s, &s.clone());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(render_table(&d), "no differences\n");
    }

    #[test]
    fn joins_and_leaves_are_matched_by_email_in_any_case() {
        let mut old = base();
        old.members.push(member(
            "Ann@X",
            MemberState::Active,
            Some((OrgRole::Member, vec![])),
        ));
        old.members.push(member(
            "bob@x",
            MemberState::Active,
            Some((OrgRole::Admin, vec![])),
        ));
        let mut new = base();
        // Same person, id changed (provisioned again), email case changed: not a join.
        let mut ann = member(
            "ann@x",
            MemberState::Active,
            Some((OrgRole::Member, vec![])),
        );
        ann.id = "other".into();
        new.members.push(ann);
        new.members
            .push(member("cat@x", MemberState::Pending, None));
        let d = diff(&old, &new);
        let got: Vec<(&str, Presence)> = d
            .members
            .iter()
            .map(|m| (m.email.as_str(), m.presence))
            .collect();
        assert_eq!(
            got,
            [("bob@x", Presence::Left), ("cat@x", Presence::Joined)]
        );
        let bob = &d.members[0];
        assert_eq!(bob.org_role_from, Some(OrgRole::Admin));
        assert_eq!(bob.org_role_to, None);
        assert_eq!(bob.state_to, None);
        let cat = &d.members[1];
        assert_eq!(cat.state_to, Some(MemberState::Pending));
        assert_eq!(cat.org_role_to, None);
    }

    #[test]
    fn org_role_and_stack_roles_gained_and_lost() {
        let mut old = base();
        old.members.push(member(
            "ann@x",
            MemberState::Active,
            Some((
                OrgRole::Member,
                vec![sr("s1", "developer"), sr("s2", "admin")],
            )),
        ));
        let mut new = base();
        // A renamed stack is the same role: only uids count.
        let mut renamed = sr("s1", "developer");
        renamed.stack_name = "Renamed".into();
        new.members.push(member(
            "ann@x",
            MemberState::Active,
            Some((OrgRole::Admin, vec![renamed, sr("s3", "content_manager")])),
        ));
        let d = diff(&old, &new);
        assert_eq!(d.members.len(), 1);
        let m = &d.members[0];
        assert_eq!(m.presence, Presence::Stayed);
        assert!(!m.state_changed());
        assert_eq!(
            (m.org_role_from, m.org_role_to),
            (Some(OrgRole::Member), Some(OrgRole::Admin))
        );
        assert_eq!(m.stack_roles_gained, [sr("s3", "content_manager")]);
        assert_eq!(m.stack_roles_lost, [sr("s2", "admin")]);
        let table = render_table(&d);
        assert!(
            table.contains("+ ann@x  org role    Member → Admin"),
            "{table}"
        );
        assert!(
            table.contains("+ ann@x  stack role  s3 stack / content_manager"),
            "{table}"
        );
        assert!(
            table.contains("- ann@x  stack role  s2 stack / admin"),
            "{table}"
        );
    }

    #[test]
    fn deprovisioning_is_a_state_change_and_a_loss_of_access() {
        let mut old = base();
        old.members.push(member(
            "ann@x",
            MemberState::Active,
            Some((OrgRole::Member, vec![sr("s1", "developer")])),
        ));
        let mut new = base();
        new.members
            .push(member("ann@x", MemberState::Deprovisioned, None));
        let d = diff(&old, &new);
        let m = &d.members[0];
        assert_eq!(
            (m.state_from, m.state_to),
            (Some(MemberState::Active), Some(MemberState::Deprovisioned))
        );
        assert_eq!(
            (m.org_role_from, m.org_role_to),
            (Some(OrgRole::Member), None)
        );
        assert_eq!(m.stack_roles_lost, [sr("s1", "developer")]);
        let table = render_table(&d);
        assert!(
            table.contains("~ ann@x  state       active → deprovisioned"),
            "{table}"
        );
        assert!(
            table.contains("- ann@x  org role    Member → none"),
            "{table}"
        );
    }

    #[test]
    fn a_state_change_alone_is_a_difference() {
        let mut old = base();
        old.members
            .push(member("ann@x", MemberState::Pending, None));
        let mut new = base();
        new.members
            .push(member("ann@x", MemberState::Rejected, None));
        let d = diff(&old, &new);
        assert_eq!(d.members.len(), 1);
        assert!(d.members[0].state_changed());
    }

    #[test]
    fn mappings_added_removed_and_changed() {
        let mut old = base();
        old.mappings
            .push(mapping("g1", OrgRole::Member, vec![sr("s1", "developer")]));
        old.mappings.push(mapping("g2", OrgRole::Member, vec![]));
        old.mappings
            .push(mapping("g4", OrgRole::Member, vec![sr("s1", "admin")]));
        let mut new = base();
        new.mappings
            .push(mapping("g1", OrgRole::Admin, vec![sr("s2", "developer")]));
        new.mappings.push(mapping("g3", OrgRole::Member, vec![]));
        new.mappings
            .push(mapping("g4", OrgRole::Member, vec![sr("s1", "admin")]));
        let d = diff(&old, &new);
        let got: Vec<(&str, MappingChange)> = d
            .mappings
            .iter()
            .map(|m| (m.group_id.as_str(), m.change))
            .collect();
        assert_eq!(
            got,
            [
                ("g1", MappingChange::Changed),
                ("g2", MappingChange::Removed),
                ("g3", MappingChange::Added)
            ]
        );
        let g1 = &d.mappings[0];
        assert_eq!(
            (g1.org_role_from, g1.org_role_to),
            (Some(OrgRole::Member), Some(OrgRole::Admin))
        );
        assert_eq!(g1.stack_roles_added, [sr("s2", "developer")]);
        assert_eq!(g1.stack_roles_removed, [sr("s1", "developer")]);
        let table = render_table(&d);
        assert!(table.contains("group g1 name  mapping org role"), "{table}");
        assert!(
            table.contains("- group g2 name  mapping removed"),
            "{table}"
        );
        assert!(table.contains("+ group g3 name  mapping added"), "{table}");
    }

    #[test]
    fn settings_and_tokens_changes() {
        let old = base();
        let mut new = base();
        new.scim.enabled = false;
        new.scim.approval.deprovision = true;
        new.scim.tokens[0].id = "t2".into();
        new.scim.tokens[0].label = "entra".into();
        let d = diff(&old, &new);
        let got: Vec<(&str, &str, &str)> = d
            .settings
            .iter()
            .map(|s| (s.setting.as_str(), s.from.as_str(), s.to.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("enabled", "true", "false"),
                ("approval.deprovision", "false", "true"),
                ("tokens", "okta", "entra")
            ]
        );
        // last_used_at moving on is not a difference.
        let mut used = base();
        used.scim.tokens[0].last_used_at = Some("2026-03-01T00:00:00Z".into());
        assert!(diff(&old, &used).is_empty());
    }

    #[test]
    fn json_names_are_stable() {
        let old = base();
        let mut new = base();
        new.members.push(member(
            "ann@x",
            MemberState::Active,
            Some((OrgRole::Member, vec![])),
        ));
        let v = serde_json::to_value(diff(&old, &new)).unwrap();
        assert_eq!(v["members"][0]["presence"], "joined");
        assert_eq!(v["members"][0]["state_to"], "active");
        assert_eq!(v["members"][0]["org_role_to"], "member");
        assert_eq!(v["members"][0]["org_role_from"], serde_json::Value::Null);
        assert_eq!(v["mappings"], serde_json::json!([]));
    }

    /// The summary counts state moves, not only arrivals and departures (one went pending →
    /// active, another active → removed: before, "2 members changed (0 joined, 0 left)").
    #[test]
    fn the_summary_counts_state_moves_and_access_changes() {
        let m = |email: &str, from: MemberState, to: MemberState| MemberDiff {
            email: email.into(),
            presence: Presence::Stayed,
            state_from: Some(from),
            state_to: Some(to),
            org_role_from: Some(OrgRole::Member),
            org_role_to: Some(OrgRole::Member),
            stack_roles_gained: vec![],
            stack_roles_lost: vec![],
        };
        let mut promoted = m("c@x.example", MemberState::Active, MemberState::Active);
        promoted.org_role_to = Some(OrgRole::Admin);
        let d = SnapshotDiff {
            members: vec![
                m("a@x.example", MemberState::Pending, MemberState::Active),
                m("b@x.example", MemberState::Active, MemberState::Removed),
                promoted.clone(),
            ],
            mappings: vec![],
            settings: vec![],
        };
        assert_eq!(
            summary(&d),
            "3 members changed (1 pending → active, 1 active → removed, 1 access changed), \
             0 mappings, 0 settings"
        );
        let rows = member_rows(&promoted);
        assert_eq!(
            rows[0].change, "Member → Admin",
            "role names as the console writes them"
        );
        let none = SnapshotDiff {
            members: vec![],
            mappings: vec![],
            settings: vec![],
        };
        assert_eq!(summary(&none), "0 members changed, 0 mappings, 0 settings");
    }
}
