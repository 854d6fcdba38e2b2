//! What setting or deleting a group's mapping does to its members: the same plan serves the
//! preview and the save, so the two cannot disagree.

use super::views::Names;
use super::{MemberRow, PREVIEW_LIST_CAP};
use crate::domain::access::{Access, GroupMapping, apply_admin_edit};
use crate::domain::approval::{
    self, ApprovalPolicy, Intent, MemberState, RequestChange, RequestDiff, Transition,
};
use crate::store::access_types::*;
use std::collections::{BTreeMap, HashMap};

/// One member's planned change from a mapping edit.
pub(crate) struct Planned {
    pub row: MemberRow,
    pub transition: Transition,
}

pub(crate) struct Plan {
    pub impact: MappingImpact,
    pub writes: Vec<Planned>,
}

fn role_counts(
    counts: &mut BTreeMap<RoleView, (u64, u64)>,
    names: &Names,
    before: &Access,
    after: &Access,
) {
    if before.org_role != after.org_role {
        let up = after.org_role > before.org_role;
        let role = if up { after.org_role } else { before.org_role };
        let e = counts.entry(RoleView::Org { org_role: role }).or_default();
        if up {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    for g in after.stack_roles.difference(&before.stack_roles) {
        counts
            .entry(RoleView::Stack(names.stack_ref(g)))
            .or_default()
            .0 += 1;
    }
    for l in before.stack_roles.difference(&after.stack_roles) {
        counts
            .entry(RoleView::Stack(names.stack_ref(l)))
            .or_default()
            .1 += 1;
    }
}

/// The plan of setting (`Some`) or deleting (`None`) `group_id`'s mapping for `rows`, the
/// group's members; `old` holds the mappings of every group of theirs.
pub(crate) fn plan_mapping(
    rows: Vec<MemberRow>,
    old: &HashMap<String, GroupMapping>,
    group_id: &str,
    new: Option<&GroupMapping>,
    policy: &ApprovalPolicy,
    names: &Names,
) -> Plan {
    let mut edited = old.clone();
    match new {
        Some(m) => {
            edited.insert(group_id.to_string(), m.clone());
        }
        None => {
            edited.remove(group_id);
        }
    }
    let mut impact = MappingImpact::default();
    let mut roles: BTreeMap<RoleView, (u64, u64)> = BTreeMap::new();
    let mut writes = Vec::new();
    // By email, whatever order the engine read them in: the same edit writes its access
    // changes and audit events in the same order on every engine and run.
    let mut rows = rows;
    rows.sort_unstable_by(|a, b| (&a.email, &a.id).cmp(&(&b.email, &b.id)));
    for row in rows.into_iter().filter(|r| r.scim_source) {
        impact.counts.members += 1;
        let (Some(r0), Some(r1)) = (row.requested(old), row.requested(&edited)) else {
            continue;
        };
        if r0 == r1 {
            continue;
        }
        role_counts(&mut roles, names, &r0, &r1);
        let mut member = row.domain();
        let mut t = if row.state == MemberState::Active {
            let g = member.granted.clone().unwrap_or_default();
            member.granted = Some(apply_admin_edit(&g, &r0, &r1));
            approval::on_change(&member, &Intent::Active(r1.clone()), policy)
        } else {
            let mut t = approval::on_change(&member, &Intent::Active(r1.clone()), policy);
            t.state = row.state;
            t.granted = row.granted();
            t
        };
        // An admin's edit rewrites requests that are open; it opens none of its own.
        if matches!(t.request, RequestChange::Open { .. }) {
            t.request = RequestChange::Keep;
        }
        let before = row.granted();
        if t.granted != before {
            impact.counts.granted_changes += 1;
            if impact.granted_changes.len() < PREVIEW_LIST_CAP {
                impact.granted_changes.push(GrantedChange {
                    member_id: row.id.clone(),
                    email: row.email.clone(),
                    diff: names.diff(&RequestDiff::between(before.as_ref(), t.granted.as_ref())),
                });
            }
        }
        let after_diff = match &t.request {
            RequestChange::Update { diff } => Some(Some(diff)),
            RequestChange::Supersede => Some(None),
            _ => None,
        };
        if let (Some(after), Some(req)) = (after_diff, &row.request) {
            impact.counts.pending_changes += 1;
            if impact.pending_changes.len() < PREVIEW_LIST_CAP {
                impact.pending_changes.push(PendingChange {
                    member_id: row.id.clone(),
                    email: row.email.clone(),
                    request_id: req.id.clone(),
                    before: names.diff(&req.diff),
                    after: after.map(|d| names.diff(d)),
                });
            }
        }
        writes.push(Planned { row, transition: t });
    }
    impact.counts.roles = roles
        .into_iter()
        .map(|(role, (gain, lose))| RoleCount { role, gain, lose })
        .collect();
    Plan { impact, writes }
}
