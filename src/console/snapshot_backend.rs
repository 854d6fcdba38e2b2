//! The console on a snapshot file: every read call answered from the document, in the shapes
//! and orders the admin API uses, and every mutating call refused. Read-only is the backend's
//! capability, so the keymap drops the mutating bindings before anyone can press them.

use super::backend::{Backend, BoxFuture, Call, Reply};
use super::changes::Changes;
use crate::client::{
    self, ApiError, ApprovalSettings, MemberAccess, OrgCounts, OrgRoleInfo, Page, PageReq,
    RoleExplanation, RoleRef, Via, Warning,
};
use crate::domain::access::OrgRole;
use crate::snapshot::{self, Snapshot};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The admin API's page sizes, so that paging behaves as it does live.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

pub struct SnapshotBackend {
    snap: Snapshot,
    /// What the header shows: the file name.
    source: String,
    /// Member indices sorted by lowercased email, the order `/users` pages in.
    by_email: Vec<usize>,
    mapping_of: HashMap<String, usize>,
    request_of: HashMap<String, usize>,
    /// Each member's latest rejected request.
    rejection_of: HashMap<String, usize>,
    /// Set by `against`: the differences from an older snapshot.
    changes: Option<Arc<Changes>>,
}

impl SnapshotBackend {
    /// `source` names the snapshot (its file name) in the header and in refusals.
    pub fn new(snap: Snapshot, source: impl Into<String>) -> SnapshotBackend {
        let mut by_email: Vec<usize> = (0..snap.members.len()).collect();
        let keys: Vec<String> = snap
            .members
            .iter()
            .map(|m| m.email.to_lowercase())
            .collect();
        by_email.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
        let mapping_of = snap
            .mappings
            .iter()
            .enumerate()
            .map(|(i, m)| (m.group_id.clone(), i))
            .collect();
        let request_of = snap
            .requests
            .iter()
            .enumerate()
            .map(|(i, r)| (r.member_id.clone(), i))
            .collect();
        let mut rejected: Vec<usize> = (0..snap.requests.len())
            .filter(|&i| snap.requests[i].state == crate::domain::approval::RequestState::Rejected)
            .collect();
        rejected.sort_by(|&a, &b| {
            let (a, b) = (&snap.requests[a], &snap.requests[b]);
            (&a.decided_at, &a.id).cmp(&(&b.decided_at, &b.id))
        });
        let rejection_of = rejected
            .into_iter()
            .map(|i| (snap.requests[i].member_id.clone(), i))
            .collect();
        SnapshotBackend {
            snap,
            source: source.into(),
            by_email,
            mapping_of,
            request_of,
            rejection_of,
            changes: None,
        }
    }

    /// Compares the snapshot under review with an older one, `old`, named `old_name` in the
    /// header and the overlay. The diff is computed here, once.
    pub fn against(mut self, old: &Snapshot, old_name: impl Into<String>) -> SnapshotBackend {
        self.changes = Some(Arc::new(Changes::new(old, &self.snap, old_name)));
        self
    }

    /// `scimdesk review NEW --against OLD`: both files read and validated; an error names
    /// the file it is about (and OLD as the `--against` file), with the line and column.
    pub fn open_against(
        new: &std::path::Path,
        old: &std::path::Path,
    ) -> Result<SnapshotBackend, String> {
        let backend = SnapshotBackend::open(new)?;
        let old_snap = snapshot::file::open(old).map_err(|e| format!("--against {e}"))?;
        Ok(backend.against(&old_snap, file_name(old)))
    }

    /// Reads and validates the file; the error names it.
    pub fn open(path: &std::path::Path) -> Result<SnapshotBackend, String> {
        let snap = snapshot::file::open(path)?;
        Ok(SnapshotBackend::new(
            snap,
            format!("snapshot {}", file_name(path)),
        ))
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    fn refuse(&self, call: &Call) -> ApiError {
        ApiError::Rejected {
            status: 405,
            code: "read_only".into(),
            message: format!(
                "{} is read-only ({call_name}): make changes on the live server, then export \
                 a new snapshot",
                self.source,
                call_name = call_name(call)
            ),
        }
    }

    fn scim_settings(&self) -> client::ScimSettings {
        let s = &self.snap.scim;
        let warnings = crate::domain::settings::scim_warnings(s.enabled, s.sso_role_mapping)
            .into_iter()
            .map(|w| Warning {
                code: w.code.into(),
                message: w.message.into(),
            })
            .collect();
        client::ScimSettings {
            enabled: s.enabled,
            sso_role_mapping: s.sso_role_mapping,
            approval: ApprovalSettings {
                provision: s.approval.provision,
                access_increase: s.approval.access_increase,
                deprovision: s.approval.deprovision,
            },
            user_name_is_email: Some(s.user_name_is_email),
            warnings,
            // What the export recorded; none when it recorded nothing (never a guess).
            scim_url: self
                .snap
                .discovery
                .as_ref()
                .and_then(|d| d.scim_url.clone()),
        }
    }

    fn org(&self) -> client::OrgInfo {
        let s = &self.snap;
        client::OrgInfo {
            uid: s.org.uid.clone(),
            name: s.org.name.clone(),
            created_at: Some(s.org.created_at.clone()),
            scim: self.scim_settings(),
            counts: OrgCounts {
                members: s.members.len() as u64,
                scim_users: s.members.iter().filter(|m| m.source == "scim").count() as u64,
                scim_groups: s.groups.len() as u64,
                scim_tokens: s.scim.tokens.len() as u64,
            },
        }
    }

    fn mapping(&self, group_id: &str) -> Option<client::Mapping> {
        self.mapping_of
            .get(group_id)
            .map(|&i| mapping(&self.snap.mappings[i]))
    }

    fn member(&self, m: &snapshot::Member) -> client::Member {
        client::Member {
            id: m.id.clone(),
            email: m.email.clone(),
            display_name: m.display_name.clone(),
            state: m.state,
            source: source_of(m),
            groups: m
                .groups
                .iter()
                .map(|g| client::GroupRef {
                    id: g.id.clone(),
                    display_name: g.display_name.clone(),
                })
                .collect(),
            granted: m.granted.as_ref().map(access),
            requested: m.requested.as_ref().map(access),
            request: self
                .request_of
                .get(&m.id)
                .map(|&i| request(&self.snap.requests[i])),
            rejection: self
                .rejection_of
                .get(&m.id)
                .filter(|_| m.state == crate::domain::approval::MemberState::Rejected)
                .map(|&i| {
                    let r = &self.snap.requests[i];
                    client::Rejection {
                        request_id: r.id.clone(),
                        decided_by: r.decided_by.clone(),
                        decided_at: r.decided_at.clone(),
                        reason: r.reason.clone(),
                    }
                }),
            created_at: m.created_at.clone(),
            updated_at: Some(m.updated_at.clone()),
        }
    }

    /// The snapshot's audit events (the newest it carries) as `/audit` narrows them.
    fn audit(&self, q: &client::AuditQuery) -> Result<Page<client::AuditEvent>, ApiError> {
        let bound = |name: &str, v: &Option<String>| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| {
                    crate::scim::datetime::named_bound(name, v).map_err(|message| {
                        ApiError::Rejected {
                            status: 400,
                            code: "invalid_request".into(),
                            message,
                        }
                    })
                })
                .transpose()
        };
        let since = bound("since", &q.since)?;
        let until = bound("until", &q.until)?;
        // A member's history holds the requests about it, as live.
        let targets: BTreeSet<&str> = match q.target.as_deref() {
            Some(t) => std::iter::once(t)
                .chain(
                    self.snap
                        .requests
                        .iter()
                        .filter(|r| r.member_id == t)
                        .map(|r| r.id.as_str()),
                )
                .collect(),
            None => BTreeSet::new(),
        };
        let events = self
            .snap
            .audit
            .iter()
            // By part, case-insensitively, as the server matches it.
            .filter(|e| {
                q.actor
                    .as_ref()
                    .is_none_or(|a| e.actor.to_lowercase().contains(&a.to_lowercase()))
            })
            .filter(|e| {
                q.action.as_ref().is_none_or(|a| {
                    e.action == *a
                        || e.action
                            .strip_prefix(a.as_str())
                            .is_some_and(|r| r.starts_with('.'))
                })
            })
            .filter(|e| {
                q.target.is_none() || e.target.as_deref().is_some_and(|t| targets.contains(t))
            })
            .filter(|e| since.as_ref().is_none_or(|s| e.at.as_str() >= s.as_str()))
            .filter(|e| until.as_ref().is_none_or(|u| e.at.as_str() < u.as_str()))
            .map(|e| client::AuditEvent {
                id: e.id.clone(),
                at: e.at.clone(),
                actor: e.actor.clone(),
                action: e.action.clone(),
                target: e.target.clone(),
                target_name: None,
                before: e.before.clone(),
                after: e.after.clone(),
            })
            .collect();
        let mut p = page(events, &q.page)?;
        let wanted: BTreeSet<&str> = p.items.iter().filter_map(|e| e.target.as_deref()).collect();
        let names = self.target_names(&wanted);
        for e in &mut p.items {
            e.target_name = e
                .target
                .as_ref()
                .and_then(|t| names.get(t.as_str()).cloned());
        }
        Ok(p)
    }

    /// What the targets in `wanted` are called, as the live server says it.
    fn target_names(&self, wanted: &BTreeSet<&str>) -> HashMap<String, String> {
        let s = &self.snap;
        let mut out = HashMap::new();
        let mut put = |id: &str, name: String| {
            if wanted.contains(id) {
                out.insert(id.to_string(), name);
            }
        };
        for m in &s.members {
            put(&m.id, m.email.clone());
        }
        for g in &s.groups {
            put(&g.id, format!("group {}", g.display_name));
        }
        for st in &s.stacks {
            put(&st.uid, format!("stack {}", st.name));
        }
        for r in &s.requests {
            put(&r.id, format!("request of {}", r.member.email));
        }
        put(&s.org.uid, format!("org {}", s.org.name));
        out
    }

    fn users(&self, q: &client::UserQuery) -> Result<Page<client::Member>, ApiError> {
        let needle = q
            .filter
            .as_deref()
            .filter(|f| !f.is_empty())
            .map(str::to_lowercase);
        let matches = |m: &snapshot::Member| {
            q.state.is_none_or(|s| m.state == s)
                && needle.as_ref().is_none_or(|n| {
                    m.email.to_lowercase().contains(n)
                        || m.display_name
                            .as_ref()
                            .is_some_and(|d| d.to_lowercase().contains(n))
                })
        };
        let selected: Vec<&snapshot::Member> = self
            .by_email
            .iter()
            .map(|&i| &self.snap.members[i])
            .filter(|m| matches(m))
            .collect();
        // Another order, as live (the column, then email); paged by position.
        if q.sort.is_some_and(|s| s != client::UserSort::Email) || q.desc {
            let mut sorted = selected;
            let key = |m: &snapshot::Member| match q.sort {
                Some(client::UserSort::Name) => m.display_name.clone().unwrap_or_default(),
                Some(client::UserSort::State) => m.state.as_str().to_string(),
                Some(client::UserSort::Created) => m.created_at.clone(),
                _ => String::new(),
            };
            sorted.sort_by_cached_key(|m| (key(m), m.email.to_lowercase()));
            if q.desc {
                sorted.reverse();
            }
            let p = page(sorted, &q.page)?;
            return Ok(Page {
                items: p.items.into_iter().map(|m| self.member(m)).collect(),
                total: p.total,
                next: p.next,
            });
        }
        // The cursor is the last email seen, as live, so a cursor from one page works on the
        // next whatever the filter.
        let after = q.page.cursor.as_deref().unwrap_or("");
        let start = selected.partition_point(|m| m.email.to_lowercase().as_str() <= after);
        let limit = limit_of(&q.page);
        let items: Vec<client::Member> = selected[start..]
            .iter()
            .take(limit)
            .map(|m| self.member(m))
            .collect();
        let next = (selected.len() > start + limit)
            .then(|| items.last().map(|m| m.email.to_lowercase()))
            .flatten();
        Ok(Page {
            items,
            total: selected.len() as u64,
            next,
        })
    }

    /// Each role granted or requested, with the groups whose mappings give it: what
    /// `/users/{id}/access` says, rebuilt from the groups and mappings the file holds.
    fn member_access(&self, member_id: &str) -> Result<MemberAccess, ApiError> {
        let m = self
            .snap
            .members
            .iter()
            .find(|m| m.id == member_id)
            .ok_or_else(|| ApiError::NotFound {
                message: format!("no member '{member_id}' in {}", self.source),
            })?;
        let maps: Vec<(&snapshot::GroupRef, &snapshot::Mapping)> = m
            .groups
            .iter()
            .filter_map(|g| {
                self.mapping_of
                    .get(&g.id)
                    .map(|&i| (g, &self.snap.mappings[i]))
            })
            .collect();
        let scim = m.source == "scim";
        let via = |pred: &dyn Fn(&snapshot::Mapping) -> bool| -> Vec<Via> {
            if !scim {
                return vec![Via::Manual];
            }
            maps.iter()
                .filter(|(_, mp)| pred(mp))
                .map(|(g, _)| Via::Group {
                    group_id: g.id.clone(),
                    group_name: g.display_name.clone(),
                })
                .collect()
        };
        let (granted, requested) = (m.granted.as_ref(), m.requested.as_ref());
        let mut roles = Vec::new();
        let org_roles: BTreeSet<OrgRole> = granted
            .iter()
            .chain(requested.iter())
            .map(|a| a.org_role)
            .collect();
        for r in org_roles.into_iter().rev() {
            roles.push(RoleExplanation {
                role: RoleRef::Org { org_role: r },
                granted: granted.is_some_and(|a| a.org_role == r),
                requested: requested.is_some_and(|a| a.org_role == r),
                via: via(&|mp| mp.org_role == r),
            });
        }
        let key = |r: &snapshot::StackRoleRef| (r.stack_uid.clone(), r.role_uid.clone());
        let mut stack: Vec<&snapshot::StackRoleRef> = granted
            .iter()
            .chain(requested.iter())
            .flat_map(|a| a.stack_roles.iter())
            .collect();
        stack.sort_by_key(|r| key(r));
        stack.dedup_by_key(|r| key(r));
        for sr in stack {
            let has = |a: Option<&snapshot::Access>| {
                a.is_some_and(|a| a.stack_roles.iter().any(|x| key(x) == key(sr)))
            };
            roles.push(RoleExplanation {
                role: RoleRef::Stack(stack_ref(sr)),
                granted: has(granted),
                requested: has(requested),
                via: via(&|mp| mp.stack_roles.iter().any(|x| key(x) == key(sr))),
            });
        }
        Ok(MemberAccess {
            member: self.member(m),
            roles,
        })
    }

    fn answer(&self, call: Call) -> Result<Reply, ApiError> {
        if call.mutates() {
            return Err(self.refuse(&call));
        }
        let s = &self.snap;
        Ok(match call {
            Call::Org => Reply::Org(self.org()),
            Call::ScimSettings => Reply::ScimSettings(self.scim_settings()),
            // A snapshot holds no request history.
            Call::ScimActivity => Reply::ScimActivity(client::ScimActivity::default()),
            Call::ScimTokens(p) => Reply::ScimTokens(page(
                s.scim
                    .tokens
                    .iter()
                    .map(|t| client::ScimToken {
                        id: t.id.clone(),
                        label: t.label.clone(),
                        created_at: t.created_at.clone(),
                        last_used_at: t.last_used_at.clone(),
                    })
                    .collect(),
                &p,
            )?),
            Call::ServiceProviderConfig => match s
                .discovery
                .as_ref()
                .and_then(|d| d.service_provider_config.clone())
            {
                Some(doc) => Reply::ServiceProviderConfig {
                    doc,
                    note: Some("as served at export".into()),
                },
                None => Reply::ServiceProviderConfig {
                    doc: serde_json::Value::Null,
                    note: Some(
                        "not in the snapshot: this export did not record what the server \
                         served"
                            .into(),
                    ),
                },
            },
            Call::Roles => {
                let items: Vec<OrgRoleInfo> = [OrgRole::Owner, OrgRole::Admin, OrgRole::Member]
                    .into_iter()
                    .map(|r| OrgRoleInfo {
                        uid: r.as_str().into(),
                        name: r.to_string(),
                        mappable: r.mappable(),
                    })
                    .collect();
                Reply::Roles(Page {
                    total: items.len() as u64,
                    items,
                    next: None,
                })
            }
            Call::Stacks(p) => Reply::Stacks(page(
                s.stacks
                    .iter()
                    .map(|st| client::Stack {
                        uid: st.uid.clone(),
                        name: st.name.clone(),
                        roles: st
                            .roles
                            .iter()
                            .map(|r| client::StackRoleInfo {
                                uid: r.uid.clone(),
                                name: r.name.clone(),
                                builtin: r.builtin,
                            })
                            .collect(),
                    })
                    .collect(),
                &p,
            )?),
            Call::Groups { filter, page: p } => {
                let needle = filter.filter(|f| !f.is_empty()).map(|f| f.to_lowercase());
                let mut groups: Vec<&snapshot::Group> = s
                    .groups
                    .iter()
                    .filter(|g| {
                        needle
                            .as_ref()
                            .is_none_or(|n| g.display_name.to_lowercase().contains(n))
                    })
                    .collect();
                groups.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
                Reply::Groups(page(
                    groups
                        .into_iter()
                        .map(|g| client::Group {
                            id: g.id.clone(),
                            display_name: g.display_name.clone(),
                            member_count: g.members.len() as u64,
                            mapping: self.mapping(&g.id),
                        })
                        .collect(),
                    &p,
                )?)
            }
            Call::Mapping { group_id } => Reply::Mapping(self.mapping(&group_id)),
            Call::Users(q) => Reply::Users(self.users(&q)?),
            Call::MemberAccess { member_id } => {
                Reply::MemberAccess(self.member_access(&member_id)?)
            }
            Call::Approvals { state, page: p } => Reply::Approvals(page(
                s.requests
                    .iter()
                    .filter(|r| state.is_none_or(|st| r.state == st))
                    .map(request)
                    .collect(),
                &p,
            )?),
            Call::Audit(q) => Reply::Audit(self.audit(&q)?),
            Call::Export => {
                Reply::Export(serde_json::to_value(s).map_err(|e| ApiError::Decode {
                    what: "the snapshot".into(),
                    detail: e.to_string(),
                })?)
            }
            // A preview shows what an edit would do; a snapshot takes no edits.
            Call::Preview { .. } => return Err(self.refuse(&call)),
            Call::PatchScim(_)
            | Call::CreateScimToken { .. }
            | Call::RevokeScimToken { .. }
            | Call::PutMapping { .. }
            | Call::DeleteMapping { .. }
            | Call::RemoveMember { .. }
            | Call::Approve { .. }
            | Call::Reject { .. }
            | Call::CreateStack { .. }
            | Call::CreateRole { .. }
            | Call::RenameStack { .. }
            | Call::RenameRole { .. } => return Err(self.refuse(&call)),
        })
    }
}

impl Backend for SnapshotBackend {
    fn server(&self) -> String {
        self.source.clone()
    }
    fn org(&self) -> String {
        self.snap.org.uid.clone()
    }
    fn read_only(&self) -> bool {
        true
    }
    fn call(&self, call: Call) -> BoxFuture<'_, Result<Reply, ApiError>> {
        let answer = self.answer(call);
        Box::pin(async move { answer })
    }
    fn changes(&self) -> Option<Arc<Changes>> {
        self.changes.clone()
    }
    fn exported_at(&self) -> Option<String> {
        Some(self.snap.exported_at.clone())
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

fn call_name(call: &Call) -> &'static str {
    match call {
        Call::PatchScim(_) => "changing SCIM settings",
        Call::CreateScimToken { .. } => "creating a SCIM token",
        Call::RevokeScimToken { .. } => "revoking a SCIM token",
        Call::PutMapping { .. } => "saving a mapping",
        Call::DeleteMapping { .. } => "deleting a mapping",
        Call::Preview { .. } => "previewing a mapping edit",
        Call::RemoveMember { .. } => "removing a member",
        Call::Approve { .. } => "approving a request",
        Call::Reject { .. } => "rejecting a request",
        Call::CreateStack { .. } => "creating a stack",
        Call::CreateRole { .. } => "adding a role",
        Call::RenameStack { .. } | Call::RenameRole { .. } => "renaming",
        _ => "this call",
    }
}

/// A list page with the same cursor rules for every small list: the cursor is the index of
/// the next item.
fn page<T>(items: Vec<T>, p: &PageReq) -> Result<Page<T>, ApiError> {
    let start = match p.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse::<usize>().map_err(|_| ApiError::Rejected {
            status: 400,
            code: "bad_request".into(),
            message: format!("cursor '{c}' is not one this snapshot gave out"),
        })?,
    };
    let limit = limit_of(p);
    let total = items.len();
    let end = start.saturating_add(limit).min(total);
    let next = (end < total).then(|| end.to_string());
    let items = items.into_iter().skip(start).take(limit).collect();
    Ok(Page {
        items,
        total: total as u64,
        next,
    })
}

fn limit_of(p: &PageReq) -> usize {
    p.limit
        .map_or(DEFAULT_LIMIT, |l| (l as usize).clamp(1, MAX_LIMIT))
}

fn source_of(m: &snapshot::Member) -> client::MemberSource {
    if m.source == "scim" {
        client::MemberSource::Scim
    } else {
        client::MemberSource::Manual
    }
}

fn stack_ref(r: &snapshot::StackRoleRef) -> client::StackRoleRef {
    client::StackRoleRef {
        stack_uid: r.stack_uid.clone(),
        stack_name: r.stack_name.clone(),
        role_uid: r.role_uid.clone(),
        role_name: r.role_name.clone(),
    }
}

fn access(a: &snapshot::Access) -> client::Access {
    client::Access {
        org_role: a.org_role,
        stack_roles: a.stack_roles.iter().map(stack_ref).collect(),
    }
}

fn mapping(m: &snapshot::Mapping) -> client::Mapping {
    client::Mapping {
        group_id: m.group_id.clone(),
        group_name: m.group_name.clone(),
        org_role: m.org_role,
        stack_roles: m.stack_roles.iter().map(stack_ref).collect(),
        updated_at: m.updated_at.clone(),
        updated_by: m.updated_by.clone(),
    }
}

fn request(r: &snapshot::ApprovalRequest) -> client::ApprovalRequest {
    client::ApprovalRequest {
        id: r.id.clone(),
        member_id: r.member_id.clone(),
        member: Some(client::PersonRef {
            email: r.member.email.clone(),
            display_name: r.member.display_name.clone(),
        }),
        kind: r.kind,
        state: r.state,
        version: r.version,
        diff: client::Diff {
            org_role_from: r.diff.org_role_from,
            org_role_to: r.diff.org_role_to,
            stack_gains: r.diff.stack_gains.iter().map(stack_ref).collect(),
            stack_losses: r.diff.stack_losses.iter().map(stack_ref).collect(),
        },
        created_at: r.created_at.clone(),
        updated_at: Some(r.updated_at.clone()),
        decided_by: r.decided_by.clone(),
        decided_at: r.decided_at.clone(),
        reason: r.reason.clone(),
    }
}
