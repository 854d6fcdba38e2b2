//! What both engines do about access once the rows are read: a membership as the approval
//! rules see it ([`MemberRow`]), the members and mappings that each engine builds as one JSON
//! document in SQL (decoded here), the writes a [`Transition`] implies ([`writes`]), the
//! names and views a client sees ([`views`]), the impact of a mapping edit ([`impact`]), and
//! the checks and messages of decisions. Each engine keeps only its SQL and row decoding.

pub(crate) mod impact;
pub(crate) mod views;
pub(crate) mod writes;

use crate::domain::access::{Access, GroupMapping, OrgRole, StackRole, effective_access};
use crate::domain::approval::{
    self, Intent, Member, MemberState, OpenRequest, RequestChange, RequestDiff, RequestKind,
    RequestState, Transition,
};
use crate::scim::ScimError;
use crate::store::access_types::{Decision, GroupRef, MappingInput};
use crate::store::{StoreError, StoreResult};
use std::collections::{BTreeSet, HashMap};
use views::Names;

/// Preview lists stop here; counts stay complete.
pub(crate) const PREVIEW_LIST_CAP: usize = 500;

/// An approval request as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredRequest {
    pub id: String,
    pub kind: RequestKind,
    pub state: RequestState,
    pub version: u64,
    pub diff: RequestDiff,
    pub created_at: String,
    pub updated_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

impl StoredRequest {
    pub fn open(&self) -> OpenRequest {
        OpenRequest {
            kind: self.kind,
            diff: self.diff.clone(),
            version: self.version,
        }
    }
}

/// Everything the rules need about one membership.
#[derive(Debug, Clone)]
pub(crate) struct MemberRow {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub state: MemberState,
    pub role: OrgRole,
    pub scim_source: bool,
    /// The SCIM User's `active`, or `None` when the IdP deleted the user.
    pub scim_active: Option<bool>,
    pub granted_stack: BTreeSet<StackRole>,
    pub groups: Vec<GroupRef>,
    pub request: Option<StoredRequest>,
    pub last_rejected: Option<RequestDiff>,
    pub created_at: String,
    pub updated_at: String,
}

impl MemberRow {
    /// A SCIM membership that a create has just inserted (pending, Member, no groups,
    /// granted roles, request or rejected diff yet): the rules need nothing read back.
    pub fn new_scim(id: &str, active: bool, now: &str) -> MemberRow {
        MemberRow {
            id: id.to_string(),
            email: String::new(),
            display_name: None,
            state: MemberState::Pending,
            role: OrgRole::Member,
            scim_source: true,
            scim_active: Some(active),
            granted_stack: BTreeSet::new(),
            groups: Vec::new(),
            request: None,
            last_rejected: None,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }

    pub fn granted(&self) -> Option<Access> {
        self.state.has_access().then(|| Access {
            org_role: self.role,
            stack_roles: self.granted_stack.clone(),
        })
    }

    pub fn domain(&self) -> Member {
        Member {
            state: self.state,
            granted: self.granted(),
            request: self.request.as_ref().map(StoredRequest::open),
            last_rejected: self.last_rejected.clone(),
        }
    }

    /// What the SCIM state and the mappings imply; the owner's own role for manual members.
    pub fn requested(&self, mappings: &HashMap<String, GroupMapping>) -> Option<Access> {
        if !self.scim_source {
            return self.granted();
        }
        (self.scim_active == Some(true))
            .then(|| effective_access(self.groups.iter().filter_map(|g| mappings.get(&g.id))))
    }

    pub fn intent(&self, mappings: &HashMap<String, GroupMapping>) -> Intent {
        match self.requested(mappings) {
            Some(a) => Intent::Active(a),
            None => Intent::Inactive,
        }
    }
}

/// What moved a member, and so which rule decides its transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// An IdP change of state or groups, or a mapping edit ([`approval::on_change`]).
    Change,
    /// The IdP changed the member's userName: granted access moves to another address
    /// ([`approval::on_rename`]).
    Rename,
}

impl Cause {
    /// The transition of a SCIM-provisioned `row` under the org's `policy`.
    pub fn transition(
        self,
        row: &MemberRow,
        mappings: &HashMap<String, GroupMapping>,
        policy: &approval::ApprovalPolicy,
    ) -> Transition {
        let (member, intent) = (row.domain(), row.intent(mappings));
        match self {
            Cause::Change => approval::on_change(&member, &intent, policy),
            Cause::Rename => approval::on_rename(&member, &intent, policy),
        }
    }
}

/// Why the IdP may not rename a member made outside SCIM (the Owner that `org create` made, or
/// a member an admin added): a SCIM User linked to it is a view of that membership, and a new
/// userName would hand its role to another address.
pub(crate) fn manual_rename_refused(user_name: &str) -> StoreError {
    StoreError::Rejected(ScimError::mutability(format!(
        "userName: this SCIM User is linked to a member that was added outside SCIM (such as \
         the organization's Owner); the identity provider cannot move that membership to \
         '{user_name}'. Change the address in scimdesk itself, or assign the new address in \
         the identity provider as a new user"
    )))
}

/// The `before` of the audit event that records an admin token revoked because the IdP moved
/// its member to another address.
pub(crate) fn renamed_token_json(id: &str, label: &str, new_user_name: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "label": label,
        "reason": format!("the identity provider moved its member to '{new_user_name}'"),
    })
}

/// Which memberships a member query reads.
#[derive(Clone, Copy)]
pub(crate) enum Who<'a> {
    /// These ids (those not in the org are absent).
    Ids(&'a [String]),
    /// The members of this SCIM group, for the approval rules only: their groups come as ids
    /// (display names empty, unordered), which spares a join and a sort per membership.
    GroupForRules(&'a str),
}

/// The group ids of `rows`, whose mappings the rules need.
pub(crate) fn groups_of(rows: &[MemberRow]) -> BTreeSet<&str> {
    rows.iter()
        .flat_map(|r| r.groups.iter().map(|g| g.id.as_str()))
        .collect()
}

/// id, kind, state, version, diff, created_at, updated_at, decided_by, decided_at, reason.
pub(crate) type RawRequest = (
    String,
    String,
    String,
    i64,
    RequestDiff,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One membership as both engines' member queries build it, a JSON array of: id, email,
/// display name, state, role, source, the SCIM User's active (0/1, null without a SCIM
/// User), created_at, updated_at, the granted stack roles as [stack, role] pairs, the groups
/// as [id, display name] pairs, the open request ([`RawRequest`] or null) and the last
/// rejected diff (or null).
type RawMember = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Option<RawRequest>,
    Option<RequestDiff>,
);

pub(crate) fn request_from_raw(r: RawRequest) -> StoreResult<StoredRequest> {
    let (id, kind, state, version, diff, created_at, updated_at, decided_by, decided_at, reason) =
        r;
    Ok(StoredRequest {
        id,
        kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Db(format!("kind {kind}")))?,
        state: RequestState::parse(&state)
            .ok_or_else(|| StoreError::Db(format!("state {state}")))?,
        version: version as u64,
        diff,
        created_at,
        updated_at,
        decided_by,
        decided_at,
        reason,
    })
}

/// A stored request's columns as text: the diff is JSON.
pub(crate) fn parse_diff(text: &str) -> StoreResult<RequestDiff> {
    serde_json::from_str(text).map_err(|e| StoreError::Db(format!("stored diff is not JSON: {e}")))
}

/// The memberships of a member query's JSON document (an array of [`RawMember`]), sorted by id.
pub(crate) fn members_from_json(text: &str) -> StoreResult<Vec<MemberRow>> {
    let raw: Vec<RawMember> = serde_json::from_str(text)
        .map_err(|e| StoreError::Db(format!("the member query gave unexpected JSON: {e}")))?;
    members_from_raw(raw)
}

/// The memberships of decoded [`RawMember`]s, sorted by id.
fn members_from_raw(raw: Vec<RawMember>) -> StoreResult<Vec<MemberRow>> {
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let (id, email, display_name, state, role, source, active, created_at, updated_at) =
            (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
        out.push(MemberRow {
            id,
            email,
            display_name,
            state: MemberState::parse(&state).unwrap_or(MemberState::Removed),
            role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            scim_source: source == "scim",
            scim_active: active.map(|a| a != 0),
            granted_stack: r
                .9
                .into_iter()
                .map(|(s, ro)| StackRole::new(s, ro))
                .collect(),
            groups: r
                .10
                .into_iter()
                .map(|(id, display_name)| GroupRef { id, display_name })
                .collect(),
            request: r.11.map(request_from_raw).transpose()?,
            last_rejected: r.12,
            created_at,
            updated_at,
        });
    }
    out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// group id, org role, stack roles.
pub(crate) type RawMapping = (String, String, Vec<(String, String)>);

fn mapping_from_raw(group_id: String, role: &str, roles: Vec<(String, String)>) -> GroupMapping {
    GroupMapping {
        group_id,
        org_role: OrgRole::parse(role).unwrap_or(OrgRole::Member),
        stack_roles: roles
            .into_iter()
            .map(|(s, r)| StackRole::new(s, r))
            .collect(),
    }
}

/// The mappings of a mapping query's JSON document: an array of [group id, org role,
/// [[stack, role]...]].
pub(crate) fn mappings_from_json(text: &str) -> StoreResult<HashMap<String, GroupMapping>> {
    let raw: Vec<RawMapping> = serde_json::from_str(text)
        .map_err(|e| StoreError::Db(format!("the mapping query gave unexpected JSON: {e}")))?;
    Ok(mappings_from_raw(raw))
}

pub(crate) fn mappings_from_raw(raw: Vec<RawMapping>) -> HashMap<String, GroupMapping> {
    raw.into_iter()
        .map(|(group_id, role, roles)| (group_id.clone(), mapping_from_raw(group_id, &role, roles)))
        .collect()
}

/// group id, org role, stack roles, member ids.
type RawMappedGroup = (String, String, Vec<(String, String)>, Vec<String>);

/// The access that the org's mappings imply for every SCIM User in at least one mapped group,
/// from a JSON array of [group id, org role, [[stack, role]...], [member id...]] per mapped
/// group. Members in no mapped group are absent: they have the default Member access.
pub(crate) fn effective_by_member(text: String) -> StoreResult<HashMap<String, Access>> {
    let raw: Vec<RawMappedGroup> = serde_json::from_str(&text).map_err(|e| {
        StoreError::Db(format!("the mapped groups query gave unexpected JSON: {e}"))
    })?;
    drop(text);
    Ok(effective_of(
        raw.into_iter()
            .map(|(group_id, role, roles, ids)| (mapping_from_raw(group_id, &role, roles), ids))
            .collect(),
    ))
}

/// The access that mapped groups (each with its member ids) imply for each of their members.
pub(crate) fn effective_of(groups: Vec<(GroupMapping, Vec<String>)>) -> HashMap<String, Access> {
    let (mappings, members): (Vec<GroupMapping>, Vec<Vec<String>>) = groups.into_iter().unzip();
    let mut groups_of: HashMap<&str, Vec<&GroupMapping>> = HashMap::new();
    for (m, ids) in mappings.iter().zip(&members) {
        for id in ids {
            groups_of.entry(id.as_str()).or_default().push(m);
        }
    }
    groups_of
        .into_iter()
        .map(|(id, ms)| (id.to_string(), effective_access(ms)))
        .collect()
}

pub(crate) fn bad(message: impl Into<String>) -> StoreError {
    StoreError::Rejected(ScimError::invalid_value(message))
}

pub(crate) fn clean_name(name: &str, what: &str) -> StoreResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(bad(format!(
            "name: a {what} needs a non-empty name of at most 200 characters"
        )));
    }
    Ok(n.to_string())
}

/// A unique-name violation (`e` a Conflict from the database) as the message an admin reads:
/// `what` is "a stack", "a role on this stack" or "a SCIM token"; names are compared trimmed
/// and without regard to case, so "mobile app" is taken when "Mobile App" exists.
pub(crate) fn name_taken(e: StoreError, what: &str, name: &str) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "name: {what} named '{name}' already exists (names are compared without regard to \
             case or surrounding spaces); choose another name, or use the existing one"
        )),
        other => other,
    }
}

/// A LIKE pattern (escape character `\`) that matches `text` anywhere.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The (display name, id) after which a page of groups starts: the cursor is the last group
/// seen, so pages stay stable while groups come and go.
pub(crate) fn group_cursor(cursor: Option<&str>) -> (String, String) {
    match cursor.and_then(|c| c.split_once('\u{1f}')) {
        Some((n, i)) => (n.to_string(), i.to_string()),
        None => (String::new(), String::new()),
    }
}

pub(crate) fn next_group_cursor(display_name: &str, id: &str) -> String {
    format!("{display_name}\u{1f}{id}")
}

/// The (created_at, id) after which a page of approval requests (oldest first) starts.
pub(crate) fn request_cursor(cursor: Option<&str>) -> (String, String) {
    match cursor.and_then(|c| c.split_once('|')) {
        Some((a, i)) => (a.to_string(), i.to_string()),
        None => (String::new(), String::new()),
    }
}

pub(crate) fn next_request_cursor(created_at: &str, id: &str) -> String {
    format!("{created_at}|{id}")
}

/// A mapping input checked against the org's stacks and roles (`names`): Owner is never
/// mapped, and every stack role exists.
pub(crate) fn validate_mapping(input: &MappingInput, names: &Names) -> StoreResult<()> {
    if !input.org_role.mappable() {
        return Err(bad(
            "org_role: Owner cannot be mapped from a group; use \"admin\" or \"member\"",
        ));
    }
    for sr in &input.stack_roles {
        if !names.has_stack(&sr.stack_uid) {
            return Err(bad(format!(
                "stack_roles: unknown stack '{}' (GET /stacks lists the stacks)",
                sr.stack_uid
            )));
        }
        if !names.has_role(sr) {
            return Err(bad(format!(
                "stack_roles: unknown role '{}' in stack '{}' (GET /stacks/{}/roles lists them)",
                sr.role_uid, sr.stack_uid, sr.stack_uid
            )));
        }
    }
    Ok(())
}

pub(crate) fn to_domain_mapping(group_id: &str, input: &MappingInput) -> GroupMapping {
    GroupMapping {
        group_id: group_id.to_string(),
        org_role: input.org_role,
        stack_roles: input.stack_roles.iter().cloned().collect(),
    }
}

/// What the rules say about deciding `stored` for `member`: the member's transition, `None`
/// for a harmless repeat, or the 409 message for a stale or already decided request.
///
/// Nobody approves a request for their own access (`actor` is the deciding admin's email):
/// another Owner or Admin must. This never leaves a request without a possible approver: the
/// Owner's own access never waits (it was made outside SCIM), so the Owner can always decide.
/// Rejecting one's own request is allowed (it grants nothing).
pub(crate) fn decision(
    member: &MemberRow,
    stored: &StoredRequest,
    decision: &Decision,
    seen_version: u64,
    actor: &str,
) -> Result<Option<Transition>, String> {
    if matches!(decision, Decision::Approve)
        && stored.state == RequestState::Pending
        && crate::scim::text::fold_address(&member.email) == crate::scim::text::fold_address(actor)
    {
        return Err(
            "this request is for your own access: another Owner or Admin must approve it".into(),
        );
    }
    let open = stored.open();
    let domain_member = member.domain();
    let result = match decision {
        Decision::Approve => approval::approve(&domain_member, stored.state, &open, seen_version),
        Decision::Reject { .. } => {
            approval::reject(&domain_member, stored.state, &open, seen_version)
        }
    };
    result.map_err(|e| match e {
        approval::DecisionError::Stale { current_version } => format!(
            "the request changed since you saw it (now version {current_version}): \
             review the current diff and decide again"
        ),
        approval::DecisionError::AlreadyDecided(s) => {
            format!("the request is already {}: nothing to decide", s.as_str())
        }
    })
}

/// The state a decision leaves its request in, with the reason recorded.
pub(crate) fn decided_state(decision: &Decision) -> (RequestState, Option<String>) {
    match decision {
        Decision::Approve => (RequestState::Approved, None),
        Decision::Reject { reason } => (RequestState::Rejected, reason.clone()),
    }
}

/// An admin removes a member: no access at once and the open request superseded. The Owner
/// cannot be removed.
pub(crate) fn removal(row: &MemberRow) -> StoreResult<Transition> {
    if row.role == OrgRole::Owner {
        return Err(bad("the Owner cannot be removed from the organization"));
    }
    Ok(Transition {
        state: MemberState::Removed,
        granted: None,
        request: if row.request.is_some() {
            RequestChange::Supersede
        } else {
            RequestChange::Keep
        },
    })
}

/// A rejected request as [`attach_rejections`] reads it: member id, request id, decided by,
/// decided at, reason.
pub(crate) type RejectionRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Puts each member's latest rejection on it: `rows` are (member id, request id, decided by,
/// decided at, reason), oldest first, so the last one per member wins.
pub(crate) fn attach_rejections(
    infos: &mut [crate::store::access_types::MemberInfo],
    rows: Vec<RejectionRow>,
) {
    let mut last = HashMap::new();
    for (member, request_id, decided_by, decided_at, reason) in rows {
        last.insert(
            member,
            crate::store::access_types::Rejection {
                request_id,
                decided_by,
                decided_at,
                reason,
            },
        );
    }
    for m in infos {
        m.rejection = last.remove(&m.id);
    }
}

/// A sorted `/users` page from the rows a query found (id, sort key, email; one more than
/// `limit` when there is a next page): the page's ids and the cursor of the next page, its
/// last row's key and email.
pub(crate) fn sorted_page(
    found: Vec<(String, String, String)>,
    limit: u64,
) -> (Vec<String>, Option<String>) {
    let more = found.len() as u64 > limit;
    let rows: Vec<(String, String, String)> = found.into_iter().take(limit as usize).collect();
    let next = more
        .then(|| {
            rows.last()
                .map(|(_, k, e)| format!("{k}{}{e}", crate::store::access_types::SORT_CURSOR_SEP))
        })
        .flatten();
    (rows.into_iter().map(|(id, _, _)| id).collect(), next)
}
