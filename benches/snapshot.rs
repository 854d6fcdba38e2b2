//! Snapshot benchmarks (issue 6): opening a 100,000-member snapshot to the review console's
//! first page (target < 1 s) and diffing two of them (target < 2 s). The export itself is
//! measured by `benches/export.rs`.
//!
//!     cargo bench --bench snapshot

use scimdesk::client::{PageReq, UserQuery};
use scimdesk::console::backend::{Backend, Call, Reply};
use scimdesk::console::snapshot_backend::SnapshotBackend;
use scimdesk::domain::access::OrgRole;
use scimdesk::domain::approval::MemberState;
use scimdesk::snapshot::{
    self, Access, Approval, Group, GroupRef, Mapping, Member, OrgInfo, ScimSettings, Snapshot,
    StackRoleRef,
};
use std::time::Instant;

const MEMBERS: usize = 100_000;
const GROUPS: usize = 1_000;

fn role(stack: usize, r: &str) -> StackRoleRef {
    StackRoleRef {
        stack_uid: format!("st{stack}"),
        stack_name: format!("Stack {stack}"),
        role_uid: r.into(),
        role_name: r.into(),
    }
}

/// A snapshot whose members each sit in three groups with two stack roles; `shift` changes
/// about one member in a hundred, so that a diff has work to report.
fn synthetic(shift: bool) -> Snapshot {
    let mut s = Snapshot::new(
        OrgInfo {
            uid: "bench".into(),
            name: "Bench".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        },
        ScimSettings {
            enabled: true,
            sso_role_mapping: false,
            approval: Approval {
                provision: true,
                access_increase: true,
                deprovision: shift,
            },
            user_name_is_email: true,
            tokens: Vec::new(),
        },
        "2026-02-01T00:00:00Z".into(),
    );
    for g in 0..GROUPS {
        s.groups.push(Group {
            id: format!("g{g}"),
            display_name: format!("Group {g}"),
            members: Vec::new(),
        });
        s.mappings.push(Mapping {
            group_id: format!("g{g}"),
            group_name: format!("Group {g}"),
            org_role: if g % 50 == 0 {
                OrgRole::Admin
            } else {
                OrgRole::Member
            },
            stack_roles: vec![role(g % 20, "developer")],
            updated_at: None,
            updated_by: None,
        });
    }
    for i in 0..MEMBERS {
        let groups: Vec<usize> = (0..3).map(|k| (i * 7 + k * 13) % GROUPS).collect();
        for &g in &groups {
            s.groups[g].members.push(format!("u{i}"));
        }
        let changed = shift && i % 100 == 0;
        let mut stack_roles = vec![role(i % 20, "developer"), role(i % 7, "content_manager")];
        if changed {
            stack_roles.push(role(3, "admin"));
        }
        let access = Access {
            org_role: OrgRole::Member,
            stack_roles,
        };
        s.members.push(Member {
            id: format!("u{i}"),
            email: format!("user{i:06}@bench.example"),
            display_name: Some(format!("User {i}")),
            state: if shift && i % 1000 == 1 {
                MemberState::Deprovisioned
            } else {
                MemberState::Active
            },
            source: "scim".into(),
            groups: groups
                .iter()
                .map(|&g| GroupRef {
                    id: format!("g{g}"),
                    display_name: format!("Group {g}"),
                })
                .collect(),
            granted: Some(access.clone()),
            requested: Some(access),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        });
    }
    s
}

fn main() {
    let old = synthetic(false);
    let new = synthetic(true);
    let bytes = snapshot::to_bytes(&old);
    println!(
        "snapshot of {MEMBERS} members: {:.1} MB",
        bytes.len() as f64 / 1e6
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");

    for run in 1..=3 {
        let t = Instant::now();
        let snap = snapshot::read(&bytes).expect("reads");
        let parsed = t.elapsed();
        let backend = SnapshotBackend::new(snap, "bench.json");
        let reply = rt.block_on(backend.call(Call::Users(UserQuery {
            filter: None,
            state: None,
            page: PageReq::first(50),
            ..Default::default()
        })));
        let total = t.elapsed();
        let Ok(Reply::Users(page)) = reply else {
            panic!("the first page");
        };
        assert_eq!(page.items.len(), 50);
        println!(
            "open to first page, run {run}: {:.0} ms (parse {:.0} ms) [target < 1000 ms]",
            total.as_secs_f64() * 1e3,
            parsed.as_secs_f64() * 1e3
        );
    }

    for run in 1..=3 {
        let t = Instant::now();
        let d = snapshot::diff(&old, &new);
        let took = t.elapsed();
        println!(
            "diff of two {MEMBERS}-member snapshots, run {run}: {:.0} ms, {} members changed \
             [target < 2000 ms]",
            took.as_secs_f64() * 1e3,
            d.members.len()
        );
    }
}
