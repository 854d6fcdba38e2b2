//! What the Users pane holds: its two lists, the detail, marks, tags and dialogs.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum List {
    #[default]
    Members,
    Pending,
}

/// What a confirmed dialog does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// (request id, version) of each marked request.
    ApproveMarked(Vec<(String, i64)>),
    Remove {
        member_id: String,
        email: String,
    },
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Confirm(Ask<Then>),
    Reason {
        prompt: Box<ReasonPrompt>,
        request_id: String,
        version: i64,
    },
}

/// A bulk approval on its way: its answers are counted, then summed up in one toast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bulk {
    pub left: usize,
    pub approved: usize,
    pub changed: usize,
    pub failed: usize,
}

#[derive(Debug)]
pub struct UsersPane {
    pub list: List,
    pub members: Paged<Member>,
    pub queue: Paged<ApprovalRequest>,
    /// The explanation of the selected row's member; `detail_for` is whose.
    pub detail: Option<MemberAccess>,
    pub detail_for: Option<String>,
    /// Enter at narrow sizes: the detail takes the whole pane.
    pub zoomed: bool,
    /// Marked requests: id → the version the user saw.
    pub marked: BTreeMap<String, i64>,
    /// Requests that appeared since the queue was first loaded, tagged "new" until selected.
    pub new: HashSet<String>,
    /// Requests refused with 409: their diff changed, tagged until approved or rejected.
    pub changed: HashSet<String>,
    /// Every request id seen, so that a refresh can tell what is new.
    pub(super) known: HashSet<String>,
    pub dialog: Option<Dialog>,
    pub bulk: Option<Bulk>,
    /// Why the list could not load (401/403 say which token and which role).
    pub error: Option<String>,
    pub(super) filter: String,
    /// `s`: only members in this state (all when `None`), asked of the server.
    pub state_filter: Option<MemberState>,
    /// `o`/`O`: the column the Members list is in order of, and whether backwards.
    pub sort: UserSort,
    pub desc: bool,
}

/// The order `s` walks the member states in, from all of them.
pub const STATE_CYCLE: [Option<MemberState>; 6] = [
    None,
    Some(MemberState::Active),
    Some(MemberState::Pending),
    Some(MemberState::Rejected),
    Some(MemberState::Deprovisioned),
    Some(MemberState::Removed),
];

impl Default for UsersPane {
    fn default() -> Self {
        UsersPane {
            list: List::default(),
            members: Paged::default(),
            queue: Paged::default(),
            detail: None,
            detail_for: None,
            zoomed: false,
            marked: BTreeMap::new(),
            new: HashSet::new(),
            changed: HashSet::new(),
            known: HashSet::new(),
            dialog: None,
            bulk: None,
            error: None,
            filter: String::new(),
            state_filter: None,
            sort: UserSort::Email,
            desc: false,
        }
    }
}

/// The order `o` walks the columns in.
pub const SORT_CYCLE: [UserSort; 4] = [
    UserSort::Email,
    UserSort::Name,
    UserSort::State,
    UserSort::Created,
];

impl UsersPane {
    pub fn selected_member(&self) -> Option<&Member> {
        self.members.current()
    }

    pub fn selected_request(&self) -> Option<&ApprovalRequest> {
        match self.list {
            List::Pending => self.queue.current(),
            List::Members => self
                .members
                .current()
                .and_then(|m| m.request.as_ref())
                .filter(|r| r.state == RequestState::Pending),
        }
    }

    /// The member id whose explanation the detail panel should show.
    pub(super) fn detail_target(&self) -> Option<String> {
        match self.list {
            List::Members => self.members.current().map(|m| m.id.clone()),
            List::Pending => self.queue.current().map(|r| r.member_id.clone()),
        }
    }
}

/// Stack roles in one order (stack, then role, by name) whatever order the server used, so
/// that lists and diffs read the same on every refresh.
pub(super) fn sort_roles(v: &mut [StackRoleRef]) {
    v.sort_by(|a, b| {
        (&a.stack_name, &a.role_name, &a.stack_uid, &a.role_uid).cmp(&(
            &b.stack_name,
            &b.role_name,
            &b.stack_uid,
            &b.role_uid,
        ))
    });
}

pub(super) fn tidy_request(r: &mut ApprovalRequest) {
    sort_roles(&mut r.diff.stack_gains);
    sort_roles(&mut r.diff.stack_losses);
}

pub(super) fn tidy_member(m: &mut Member) {
    for a in [m.granted.as_mut(), m.requested.as_mut()]
        .into_iter()
        .flatten()
    {
        sort_roles(&mut a.stack_roles);
    }
    if let Some(r) = m.request.as_mut() {
        tidy_request(r);
    }
    m.groups
        .sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
}

pub(super) fn tidy_access(a: &mut MemberAccess) {
    tidy_member(&mut a.member);
    // The org role first, then stack roles in the same order as everywhere else.
    a.roles.sort_by_key(|e| match &e.role {
        RoleRef::Org { .. } => (0, String::new(), String::new()),
        RoleRef::Stack(s) => (1, s.stack_name.clone(), s.role_name.clone()),
    });
}

/// "Ann Lee <ann@acme.example>", or the email alone, or the member id.
pub(super) fn person(r: &ApprovalRequest) -> String {
    match &r.member {
        Some(p) => p.email.clone(),
        None => r.member_id.clone(),
    }
}
