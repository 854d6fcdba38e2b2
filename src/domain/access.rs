//! Roles and effective access: the one place where a member's access is derived from the
//! mappings of their SCIM groups. Pure: no HTTP, no database, no terminal.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Org roles, ordered by power: `Member < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    Member,
    Admin,
    Owner,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Member => "member",
            OrgRole::Admin => "admin",
            OrgRole::Owner => "owner",
        }
    }
    pub fn parse(s: &str) -> Option<OrgRole> {
        match s.to_ascii_lowercase().as_str() {
            "member" => Some(OrgRole::Member),
            "admin" => Some(OrgRole::Admin),
            "owner" => Some(OrgRole::Owner),
            _ => None,
        }
    }
    /// Only Owner and Admin may use the admin API.
    pub fn may_administer(self) -> bool {
        self >= OrgRole::Admin
    }
    /// A group mapping may grant Admin or Member, never Owner.
    pub fn mappable(self) -> bool {
        self != OrgRole::Owner
    }
}

impl fmt::Display for OrgRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrgRole::Member => "Member",
            OrgRole::Admin => "Admin",
            OrgRole::Owner => "Owner",
        })
    }
}

/// The uids of every stack's built-in roles.
pub const BUILTIN_STACK_ROLES: [(&str, &str); 3] = [
    ("admin", "Admin"),
    ("developer", "Developer"),
    ("content_manager", "Content Manager"),
];

/// A role on one stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StackRole {
    pub stack_uid: String,
    pub role_uid: String,
}

impl StackRole {
    pub fn new(stack_uid: impl Into<String>, role_uid: impl Into<String>) -> Self {
        StackRole {
            stack_uid: stack_uid.into(),
            role_uid: role_uid.into(),
        }
    }
}

/// What a SCIM group's mapping grants its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMapping {
    pub group_id: String,
    pub org_role: OrgRole,
    pub stack_roles: BTreeSet<StackRole>,
}

/// A member's access: one org role and a set of stack roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub org_role: OrgRole,
    pub stack_roles: BTreeSet<StackRole>,
}

impl Default for Access {
    /// A member with no mapped group: Member, no stack roles.
    fn default() -> Self {
        Access {
            org_role: OrgRole::Member,
            stack_roles: BTreeSet::new(),
        }
    }
}

impl Access {
    /// True when `self` grants everything `other` grants (and perhaps more).
    pub fn covers(&self, other: &Access) -> bool {
        self.org_role >= other.org_role && self.stack_roles.is_superset(&other.stack_roles)
    }
}

/// Effective access (DESIGN.md): the highest org role among the mappings of the member's
/// groups (Member if none), and the union of their stack roles.
pub fn effective_access<'a>(mappings: impl IntoIterator<Item = &'a GroupMapping>) -> Access {
    let mut access = Access::default();
    for m in mappings {
        access.org_role = access.org_role.max(m.org_role);
        access.stack_roles.extend(m.stack_roles.iter().cloned());
    }
    access
}

/// One role and every group whose mapping grants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// `org:admin` or `stack:<stack_uid>:<role_uid>`.
    pub role: RoleRef,
    /// The groups whose mappings grant it; empty for the default Member role.
    pub granted_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleRef {
    Org { role: OrgRole },
    Stack { stack_uid: String, role_uid: String },
}

/// Explain effective access: for the org role, the groups whose mapping gives that highest
/// role; for each stack role, every group whose mapping includes it.
pub fn explain<'a>(mappings: impl IntoIterator<Item = &'a GroupMapping>) -> Vec<Explanation> {
    let mappings: Vec<&GroupMapping> = mappings.into_iter().collect();
    let access = effective_access(mappings.iter().copied());
    let org_groups: Vec<String> = mappings
        .iter()
        .filter(|m| m.org_role == access.org_role)
        .map(|m| m.group_id.clone())
        .collect();
    let mut out = vec![Explanation {
        role: RoleRef::Org {
            role: access.org_role,
        },
        granted_by: org_groups,
    }];
    let mut by_role: BTreeMap<&StackRole, Vec<String>> = BTreeMap::new();
    for m in &mappings {
        for sr in &m.stack_roles {
            by_role.entry(sr).or_default().push(m.group_id.clone());
        }
    }
    out.extend(by_role.into_iter().map(|(sr, groups)| Explanation {
        role: RoleRef::Stack {
            stack_uid: sr.stack_uid.clone(),
            role_uid: sr.role_uid.clone(),
        },
        granted_by: groups,
    }));
    out
}

/// The difference between granted access and requested access.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccessDiff {
    /// `Some((from, to))` when the org role changes.
    pub org_role: Option<(OrgRole, OrgRole)>,
    pub stack_gains: BTreeSet<StackRole>,
    pub stack_losses: BTreeSet<StackRole>,
}

impl AccessDiff {
    pub fn between(granted: &Access, requested: &Access) -> AccessDiff {
        AccessDiff {
            org_role: (granted.org_role != requested.org_role)
                .then_some((granted.org_role, requested.org_role)),
            stack_gains: requested
                .stack_roles
                .difference(&granted.stack_roles)
                .cloned()
                .collect(),
            stack_losses: granted
                .stack_roles
                .difference(&requested.stack_roles)
                .cloned()
                .collect(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.org_role.is_none() && self.stack_gains.is_empty() && self.stack_losses.is_empty()
    }
    pub fn raises(&self) -> bool {
        self.org_role.is_some_and(|(from, to)| to > from) || !self.stack_gains.is_empty()
    }
    pub fn lowers(&self) -> bool {
        self.org_role.is_some_and(|(from, to)| to < from) || !self.stack_losses.is_empty()
    }
}

/// Split a move from `granted` to `requested` into what applies at once and what waits:
/// every loss applies now (revocation never waits); the gains are returned separately.
/// Returns (access in force after the losses, the gains still to approve).
pub fn apply_losses(granted: &Access, requested: &Access) -> (Access, AccessDiff) {
    let org_role = granted.org_role.min(requested.org_role);
    let stack_roles: BTreeSet<StackRole> = granted
        .stack_roles
        .intersection(&requested.stack_roles)
        .cloned()
        .collect();
    let now = Access {
        org_role,
        stack_roles,
    };
    let gains = AccessDiff::between(&now, requested);
    debug_assert!(!gains.lowers());
    (now, gains)
}

/// A mapping edit is an admin's decision, not the IdP's: what it adds to `before` (the access
/// the mappings implied) is granted at once, what it takes away is revoked at once, and gains
/// still waiting for approval for other reasons keep waiting.
pub fn apply_admin_edit(granted: &Access, before: &Access, after: &Access) -> Access {
    let org_role = if after.org_role > before.org_role {
        granted.org_role.max(after.org_role)
    } else {
        granted.org_role.min(after.org_role)
    };
    let mut stack_roles: BTreeSet<StackRole> = granted
        .stack_roles
        .intersection(&after.stack_roles)
        .cloned()
        .collect();
    stack_roles.extend(after.stack_roles.difference(&before.stack_roles).cloned());
    Access {
        org_role,
        stack_roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mapping(group: &str, role: OrgRole, stack_roles: &[(&str, &str)]) -> GroupMapping {
        GroupMapping {
            group_id: group.into(),
            org_role: role,
            stack_roles: stack_roles
                .iter()
                .map(|(s, r)| StackRole::new(*s, *r))
                .collect(),
        }
    }

    #[test]
    fn effective_access_table() {
        let dev = mapping(
            "developers",
            OrgRole::Member,
            &[("mobile", "developer"), ("web", "developer")],
        );
        let admins = mapping("admins", OrgRole::Admin, &[("web", "admin")]);
        let content = mapping(
            "content",
            OrgRole::Member,
            &[("web", "content_manager"), ("web", "developer")],
        );
        let cases: Vec<(Vec<&GroupMapping>, OrgRole, usize)> = vec![
            (vec![], OrgRole::Member, 0),
            (vec![&dev], OrgRole::Member, 2),
            (vec![&admins], OrgRole::Admin, 1),
            (vec![&dev, &admins], OrgRole::Admin, 3),
            (vec![&dev, &content], OrgRole::Member, 3),
            (vec![&dev, &admins, &content], OrgRole::Admin, 4),
        ];
        for (groups, role, n) in cases {
            let a = effective_access(groups.iter().copied());
            assert_eq!(a.org_role, role, "{groups:?}");
            assert_eq!(a.stack_roles.len(), n, "{groups:?}");
        }
    }

    #[test]
    fn explain_names_every_granting_group() {
        let dev = mapping("developers", OrgRole::Member, &[("web", "developer")]);
        let content = mapping("content", OrgRole::Member, &[("web", "developer")]);
        let admins = mapping("admins", OrgRole::Admin, &[]);
        let ex = explain([&dev, &content, &admins]);
        assert_eq!(
            ex[0].role,
            RoleRef::Org {
                role: OrgRole::Admin
            }
        );
        assert_eq!(ex[0].granted_by, vec!["admins".to_string()]);
        assert_eq!(
            ex[1],
            Explanation {
                role: RoleRef::Stack {
                    stack_uid: "web".into(),
                    role_uid: "developer".into()
                },
                granted_by: vec!["developers".into(), "content".into()],
            }
        );
        let none = explain([]);
        assert_eq!(none.len(), 1);
        assert!(
            none[0].granted_by.is_empty(),
            "the default Member role has no granting group"
        );
    }

    #[test]
    fn losses_apply_at_once_and_gains_wait() {
        let granted = Access {
            org_role: OrgRole::Admin,
            stack_roles: [StackRole::new("web", "admin")].into(),
        };
        let requested = Access {
            org_role: OrgRole::Member,
            stack_roles: [StackRole::new("mobile", "developer")].into(),
        };
        let (now, gains) = apply_losses(&granted, &requested);
        assert_eq!(now, Access::default());
        assert_eq!(gains.org_role, None);
        assert_eq!(
            gains.stack_gains,
            [StackRole::new("mobile", "developer")].into()
        );
        assert!(gains.stack_losses.is_empty());
    }

    #[test]
    fn org_roles_order_by_power() {
        assert!(OrgRole::Owner > OrgRole::Admin && OrgRole::Admin > OrgRole::Member);
        assert!(OrgRole::Admin.may_administer() && !OrgRole::Member.may_administer());
        assert!(!OrgRole::Owner.mappable());
        assert_eq!(OrgRole::parse("ADMIN"), Some(OrgRole::Admin));
        assert_eq!(OrgRole::parse("root"), None);
    }

    #[test]
    fn an_admin_edit_grants_its_own_gains_and_leaves_other_waiting_gains_waiting() {
        let web_dev = StackRole::new("web", "developer");
        let web_admin = StackRole::new("web", "admin");
        let mobile = StackRole::new("mobile", "developer");
        // Granted: web developer. Requested before the edit: web developer + mobile (the
        // mobile gain waits for approval). The edit swaps web developer for web admin.
        let granted = Access {
            org_role: OrgRole::Member,
            stack_roles: [web_dev.clone()].into(),
        };
        let before = Access {
            org_role: OrgRole::Member,
            stack_roles: [web_dev.clone(), mobile.clone()].into(),
        };
        let after = Access {
            org_role: OrgRole::Admin,
            stack_roles: [web_admin.clone(), mobile.clone()].into(),
        };
        let now = apply_admin_edit(&granted, &before, &after);
        assert_eq!(now.org_role, OrgRole::Admin);
        assert_eq!(now.stack_roles, [web_admin].into(), "mobile still waits");
        let lowered = apply_admin_edit(&now, &after, &Access::default());
        assert_eq!(lowered, Access::default());
        assert_eq!(apply_admin_edit(&granted, &before, &before), granted);
    }

    fn arb_mapping() -> impl Strategy<Value = GroupMapping> {
        (
            "[a-e]",
            prop_oneof![Just(OrgRole::Member), Just(OrgRole::Admin)],
            proptest::collection::btree_set(("[xyz]", "(admin|developer|content_manager)"), 0..4),
        )
            .prop_map(|(g, role, srs)| GroupMapping {
                group_id: g,
                org_role: role,
                stack_roles: srs.into_iter().map(|(s, r)| StackRole::new(s, r)).collect(),
            })
    }

    proptest! {
        #[test]
        fn joining_a_group_never_lowers_access(groups in proptest::collection::vec(arb_mapping(), 0..6), extra in arb_mapping()) {
            let before = effective_access(&groups);
            let after = effective_access(groups.iter().chain(std::iter::once(&extra)));
            prop_assert!(after.covers(&before));
        }

        #[test]
        fn leaving_a_group_never_raises_access(groups in proptest::collection::vec(arb_mapping(), 1..6), idx in 0usize..6) {
            let idx = idx % groups.len();
            let before = effective_access(&groups);
            let after = effective_access(groups.iter().enumerate().filter(|(i, _)| *i != idx).map(|(_, m)| m));
            prop_assert!(before.covers(&after));
        }

        #[test]
        fn losses_then_gains_reach_the_request(a in proptest::collection::vec(arb_mapping(), 0..4), b in proptest::collection::vec(arb_mapping(), 0..4)) {
            let granted = effective_access(&a);
            let requested = effective_access(&b);
            let (now, gains) = apply_losses(&granted, &requested);
            prop_assert!(granted.covers(&now), "applying losses never raises");
            prop_assert!(requested.covers(&now), "what applies at once is within the request");
            prop_assert!(!gains.lowers());
            prop_assert_eq!(gains.is_empty(), now == requested);
        }
    }
}
