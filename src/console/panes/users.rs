//! The Users pane: the org's members (name, email, state, org role, stack roles, groups), a
//! detail panel that explains each role, and the pending-approval queue (diffs in words,
//! approve, reject with a reason, bulk approve, new requests tagged), plus removing a member.
//!
//! Both lists page on the server (see [`super::common::paged`]): the pane holds at most three pages of rows and
//! remembers the cursor of every page it saw, so it can walk back up after dropping the top.
//! Only the rows on screen are built when drawing.

use super::common::call::{call, failure};
use super::common::dialog::{Answer, Ask};
use super::common::fmt::{TimeWidth, short_time};
use super::common::paged::Paged;
use super::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::{
    ApiError, ApprovalRequest, Member, MemberAccess, MemberSource, Page, PageReq, RoleRef,
    StackRoleRef, UserQuery, Via,
};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::changes::Changes;
use crate::console::keymap::{Action, BindingSpec, Key, mutating, spec};
use crate::console::theme::Theme;
use crate::console::widgets::Outcome;
use crate::console::widgets::confirm::Confirm;
use crate::console::widgets::diff::{access_words, diff_lines, diff_summary, kind_words};
use crate::console::widgets::reason::ReasonPrompt;
use crate::console::widgets::table::render_window;
use crate::console::widgets::{WidgetStyle, truncate};
use crate::domain::approval::{MemberState, RequestState};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

pub const BINDINGS: &[BindingSpec] = &[
    // `p` for "pending": k9s users switch views with one mnemonic key, and Tab already moves
    // between panes, so the two lists of this pane get a letter of their own.
    spec(
        &[Key::ch('p')],
        Action::SwitchList,
        Some("pending"),
        "Switch between the Members list and the Pending queue",
    ),
    mutating(
        &[Key::ch('a')],
        Action::Approve,
        Some("approve"),
        "Approve the selected request (the diff shown is what is applied)",
    ),
    mutating(
        &[Key::ch('r')],
        Action::Reject,
        Some("reject"),
        "Reject the selected request, with a reason",
    ),
    mutating(
        &[Key::ch(' ')],
        Action::Mark,
        Some("mark"),
        "Mark or unmark the selected request for bulk approval",
    ),
    mutating(
        &[Key::ch('A')],
        Action::ApproveMarked,
        Some("bulk"),
        "Approve every marked request (asks first, with the count)",
    ),
    mutating(
        &[Key::ch('x'), Key::code(KeyCode::Delete)],
        Action::RemoveMember,
        Some("remove"),
        "Remove the selected member from the org (asks first)",
    ),
];

/// Wider than this, the detail panel sits beside the list instead of under it.
const SIDE_PANEL_WIDTH: u16 = 110;

const ID: PaneId = PaneId::Users;

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

#[derive(Debug, Default)]
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
    known: HashSet<String>,
    pub dialog: Option<Dialog>,
    pub bulk: Option<Bulk>,
    /// Why the list could not load (401/403 say which token and which role).
    pub error: Option<String>,
    filter: String,
    /// With `review NEW --against OLD`: what changed, for the row marks and the detail.
    changes: Option<Arc<Changes>>,
}

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
    fn detail_target(&self) -> Option<String> {
        match self.list {
            List::Members => self.members.current().map(|m| m.id.clone()),
            List::Pending => self.queue.current().map(|r| r.member_id.clone()),
        }
    }

    fn members_call(&self, page: PageReq) -> Cmd {
        call(
            ID,
            "list",
            Call::Users(UserQuery {
                filter: (!self.filter.is_empty()).then(|| self.filter.clone()),
                state: None,
                page,
            }),
        )
    }

    fn queue_call(page: PageReq) -> Cmd {
        call(
            ID,
            "queue",
            Call::Approvals {
                state: Some(RequestState::Pending),
                page,
            },
        )
    }

    /// After any change of selection or rows: the page to prefetch and the detail to load.
    fn follow(&mut self) -> Vec<Cmd> {
        let mut out = Vec::new();
        if let Some(p) = self.members.follow() {
            out.push(self.members_call(p));
        }
        if let Some(p) = self.queue.follow() {
            out.push(Self::queue_call(p));
        }
        if self.list == List::Pending
            && let Some(r) = self.queue.current()
        {
            self.new.remove(&r.id.clone());
        }
        let target = self.detail_target();
        if target != self.detail_for {
            self.detail = None;
            self.detail_for = target.clone();
            if let Some(member_id) = target {
                out.push(call(ID, "detail", Call::MemberAccess { member_id }));
            }
        }
        out
    }

    fn load_all(&mut self) -> Vec<Cmd> {
        let mut out = Vec::new();
        if let Some(p) = self.members.reload() {
            out.push(self.members_call(p));
        }
        if let Some(p) = self.queue.reload() {
            out.push(Self::queue_call(p));
        }
        if let Some(member_id) = self.detail_for.clone() {
            out.push(call(ID, "detail", Call::MemberAccess { member_id }));
        }
        out
    }

    /// The selected row and the length of the list in view.
    fn position(&self) -> (usize, usize) {
        match self.list {
            List::Members => (self.members.selected(), self.members.total as usize),
            List::Pending => (self.queue.selected(), self.queue.total as usize),
        }
    }

    fn move_to(&mut self, target: usize, rows: usize) {
        match self.list {
            List::Members => self.members.move_to(target, rows),
            List::Pending => self.queue.move_to(target, rows),
        }
    }

    fn on_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        let page = (cx.page_rows as usize).max(1);
        let (sel, total) = self.position();
        match action {
            Action::Up => self.move_to(sel.saturating_sub(1), page),
            Action::Down => self.move_to(sel + 1, page),
            Action::Top => self.move_to(0, page),
            Action::Bottom => self.move_to(total.saturating_sub(1), page),
            Action::PageUp => self.move_to(sel.saturating_sub(page), page),
            Action::PageDown => self.move_to(sel + page, page),
            Action::Open => self.zoomed = !self.zoomed,
            Action::Back => self.zoomed = false,
            Action::SwitchList => {
                self.list = match self.list {
                    List::Members => List::Pending,
                    List::Pending => List::Members,
                };
                self.zoomed = false;
            }
            Action::Approve if !cx.read_only => return self.approve_selected(),
            Action::Reject if !cx.read_only => return self.reject_selected(),
            Action::Mark if !cx.read_only => return self.mark_selected(page),
            Action::ApproveMarked if !cx.read_only => return self.ask_bulk(),
            Action::RemoveMember if !cx.read_only => return self.ask_remove(),
            _ => return Vec::new(),
        }
        self.follow()
    }

    fn approve_selected(&mut self) -> Vec<Cmd> {
        match self.selected_request() {
            Some(r) => vec![call(
                ID,
                "decide",
                Call::Approve {
                    request_id: r.id.clone(),
                    version: r.version,
                },
            )],
            None => vec![Toast::info(self.no_request_hint())],
        }
    }

    fn no_request_hint(&self) -> &'static str {
        match self.list {
            List::Members => "this member has no pending request (p shows the queue)",
            List::Pending => "the queue is empty",
        }
    }

    fn reject_selected(&mut self) -> Vec<Cmd> {
        let Some(r) = self.selected_request() else {
            return vec![Toast::info(self.no_request_hint())];
        };
        let who = person(r);
        let prompt = Box::new(ReasonPrompt::new(
            format!("Reject {who} ({})", kind_words(r.kind)),
            &WidgetStyle::plain(),
        ));
        self.dialog = Some(Dialog::Reason {
            prompt,
            request_id: r.id.clone(),
            version: r.version,
        });
        Vec::new()
    }

    fn mark_selected(&mut self, page: usize) -> Vec<Cmd> {
        if self.list != List::Pending {
            return vec![Toast::info(
                "marks are for the pending queue: press p to switch to it",
            )];
        }
        let Some(r) = self.queue.current() else {
            return Vec::new();
        };
        if self.marked.remove(&r.id).is_none() {
            self.marked.insert(r.id.clone(), r.version);
        }
        // Like a file manager: mark and step on, so Space Space Space marks three.
        let next = self.queue.selected() + 1;
        self.queue.move_to(next, page);
        self.follow()
    }

    fn ask_bulk(&mut self) -> Vec<Cmd> {
        if let Some(b) = &self.bulk {
            return vec![Toast::info(format!(
                "the last bulk approval still waits for {} answers",
                b.left
            ))];
        }
        if self.marked.is_empty() {
            return vec![Toast::info(
                "nothing is marked: Space marks requests in the pending queue",
            )];
        }
        let n = self.marked.len();
        let what = if n == 1 { "request" } else { "requests" };
        let confirm = Confirm::new(
            "Approve marked",
            format!(
                "Approve {n} pending {what}? Each applies the diff shown when it was marked; \
                 one that changed since is refused."
            ),
            format!("Approve {n}"),
        );
        let then = Then::ApproveMarked(self.marked.iter().map(|(k, v)| (k.clone(), *v)).collect());
        self.dialog = Some(Dialog::Confirm(Ask::new(confirm, then)));
        Vec::new()
    }

    fn ask_remove(&mut self) -> Vec<Cmd> {
        let Some(m) = self.current_member_for_removal() else {
            return Vec::new();
        };
        if matches!(m.state, MemberState::Removed) {
            return vec![Toast::info(format!("{} is already removed", m.email))];
        }
        let mut text = format!("Remove {} from the org? Their access ends now.", m.email);
        if m.source == MemberSource::Scim {
            text.push_str(" ⚠ The IdP manages this member and may provision them again.");
        }
        self.dialog = Some(Dialog::Confirm(Ask::new(
            Confirm::new("Remove member", text, "Remove").dangerous(),
            Then::Remove {
                member_id: m.id.clone(),
                email: m.email.clone(),
            },
        )));
        Vec::new()
    }

    fn current_member_for_removal(&self) -> Option<Member> {
        match self.list {
            List::Members => self.members.current().cloned(),
            // From the queue, the member of the request (as the detail panel shows it).
            List::Pending => self
                .detail
                .as_ref()
                .filter(|d| Some(&d.member.id) == self.detail_for.as_ref())
                .map(|d| d.member.clone()),
        }
    }

    fn on_dialog_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match dialog {
            Dialog::Confirm(ask) => match ask.key(key) {
                Answer::Yes(then) => self.confirmed(then),
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.dialog = Some(Dialog::Confirm(ask));
                    Vec::new()
                }
            },
            Dialog::Reason {
                mut prompt,
                request_id,
                version,
            } => match prompt.handle_key(key) {
                Outcome::Submitted(reason) => vec![call(
                    ID,
                    "decide",
                    Call::Reject {
                        request_id,
                        version,
                        reason,
                    },
                )],
                Outcome::Cancelled => Vec::new(),
                _ => {
                    self.dialog = Some(Dialog::Reason {
                        prompt,
                        request_id,
                        version,
                    });
                    Vec::new()
                }
            },
        }
    }

    fn confirmed(&mut self, then: Then) -> Vec<Cmd> {
        match then {
            Then::ApproveMarked(items) => {
                self.bulk = Some(Bulk {
                    left: items.len(),
                    ..Default::default()
                });
                items
                    .into_iter()
                    .map(|(request_id, version)| {
                        call(
                            ID,
                            "decide",
                            Call::Approve {
                                request_id,
                                version,
                            },
                        )
                    })
                    .collect()
            }
            Then::Remove { member_id, .. } => {
                vec![call(ID, "remove", Call::RemoveMember { member_id })]
            }
        }
    }

    /// A member as the server now has it: replace the loaded row, and the detail's.
    fn replace_member(&mut self, m: &Member) {
        if let Some(row) = self.members.rows.iter_mut().find(|x| x.id == m.id) {
            *row = m.clone();
        }
        if let Some(d) = &mut self.detail
            && d.member.id == m.id
        {
            d.member = m.clone();
        }
    }

    fn land_queue(&mut self, k: usize, page: Page<ApprovalRequest>) {
        let first = !self.queue.loaded;
        for r in &page.items {
            if self.known.insert(r.id.clone()) && !first {
                self.new.insert(r.id.clone());
            }
        }
        // A marked request whose version moved must be looked at again before a bulk approve.
        for r in &page.items {
            if let Some(v) = self.marked.get(&r.id)
                && *v != r.version
            {
                self.marked.remove(&r.id);
                self.changed.insert(r.id.clone());
            }
        }
        // The whole queue is in one page: marks and tags of requests that left it (decided
        // elsewhere, superseded) go, so that a bulk count is never off.
        if k == 0 && page.next.is_none() {
            let ids: HashSet<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
            self.marked.retain(|id, _| ids.contains(id.as_str()));
            self.new.retain(|id| ids.contains(id.as_str()));
            self.changed.retain(|id| ids.contains(id.as_str()));
        }
        self.queue.land(k, page);
    }

    fn on_reply(&mut self, slot: &str, call_: Call, result: Result<Reply, ApiError>) -> Vec<Cmd> {
        match result {
            Ok(Reply::Users(mut page)) => {
                page.items.iter_mut().for_each(tidy_member);
                let Call::Users(q) = &call_ else {
                    return Vec::new();
                };
                let Some(k) = self.members.page_of(&q.page) else {
                    return Vec::new();
                };
                self.error = None;
                self.members.land(k, page);
                self.follow()
            }
            Ok(Reply::Approvals(mut page)) => {
                page.items.iter_mut().for_each(tidy_request);
                let Call::Approvals { page: req, .. } = &call_ else {
                    return Vec::new();
                };
                let Some(k) = self.queue.page_of(req) else {
                    return Vec::new();
                };
                self.land_queue(k, page);
                self.follow()
            }
            Ok(Reply::MemberAccess(mut a)) => {
                tidy_access(&mut a);
                if self.detail_for.as_deref() == Some(a.member.id.as_str()) {
                    self.detail = Some(a);
                }
                Vec::new()
            }
            Ok(Reply::Decision(mut d)) => {
                tidy_request(&mut d.request);
                tidy_member(&mut d.member);
                self.decided(d)
            }
            Ok(Reply::Removed(mut r)) => {
                tidy_member(&mut r.member);
                self.replace_member(&r.member);
                let mut out = vec![Toast::success(format!(
                    "{} removed from the org",
                    r.member.email
                ))];
                out.extend(
                    r.warnings
                        .iter()
                        .map(|w| Toast::info(format!("⚠ {}", w.message))),
                );
                out
            }
            Ok(_) => Vec::new(),
            Err(e) if slot == "decide" => self.decide_failed(&call_, e),
            Err(e) => {
                match slot {
                    "list" => {
                        self.members.fetching = None;
                        self.error = Some(e.to_string());
                    }
                    "queue" => self.queue.fetching = None,
                    "detail" => {}
                    _ => {}
                }
                failure(&e)
            }
        }
    }

    fn decided(&mut self, d: crate::client::Decision) -> Vec<Cmd> {
        let id = d.request.id.clone();
        self.marked.remove(&id);
        self.changed.remove(&id);
        self.new.remove(&id);
        let before = self.queue.rows.len();
        self.queue.rows.retain(|r| r.id != id);
        if self.queue.rows.len() < before {
            self.queue.total = self.queue.total.saturating_sub(1);
            self.queue.win.clamp(self.queue.rows.len());
        }
        self.replace_member(&d.member);
        let verb = match d.request.state {
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            _ => "decided",
        };
        let mut out = Vec::new();
        match &mut self.bulk {
            Some(b) => {
                b.approved += 1;
                out.extend(self.bulk_step());
            }
            None => out.push(Toast::success(format!(
                "{verb}: {} ({})",
                person(&d.request),
                diff_summary(&d.request.diff)
            ))),
        }
        // The queue as the server now has it, and the explanation of the changed member.
        if let Some(p) = self.queue.reload() {
            out.push(Self::queue_call(p));
        }
        if self.detail_for.as_deref() == Some(d.member.id.as_str()) {
            out.push(call(
                ID,
                "detail",
                Call::MemberAccess {
                    member_id: d.member.id.clone(),
                },
            ));
        }
        out.extend(self.follow());
        out
    }

    fn decide_failed(&mut self, c: &Call, e: ApiError) -> Vec<Cmd> {
        if let Some(r) = e.refreshed_request() {
            let mut r = r.clone();
            tidy_request(&mut r);
            self.marked.remove(&r.id);
            self.changed.insert(r.id.clone());
            if let Some(row) = self.queue.rows.iter_mut().find(|x| x.id == r.id) {
                *row = r.clone();
            }
            if let Some(m) = self.members.rows.iter_mut().find(|m| m.id == r.member_id) {
                m.request = Some(r.clone());
            }
        }
        if let Some(b) = &mut self.bulk {
            if e.refreshed_request().is_some() {
                b.changed += 1;
            } else {
                b.failed += 1;
            }
            let mut out = self.bulk_step();
            if e.refreshed_request().is_none() {
                out.push(Toast::error(e.to_string()));
            }
            return out;
        }
        let what = match c {
            Call::Reject { .. } => "reject",
            _ => "approve",
        };
        match &e {
            ApiError::Conflict {
                request: Some(_), ..
            } => vec![Toast::error(e.to_string())],
            _ => vec![Toast::error(format!("cannot {what}: {e}"))],
        }
    }

    /// One answer of a bulk approval counted; the summary when it was the last.
    fn bulk_step(&mut self) -> Vec<Cmd> {
        let Some(b) = &mut self.bulk else {
            return Vec::new();
        };
        b.left = b.left.saturating_sub(1);
        if b.left > 0 {
            return Vec::new();
        }
        let b = self.bulk.take().unwrap_or_default();
        let mut text = format!("approved {}", b.approved);
        if b.changed > 0 {
            text.push_str(&format!(
                "; {} changed since marked: review them again",
                b.changed
            ));
        }
        if b.failed > 0 {
            text.push_str(&format!("; {} failed", b.failed));
        }
        if b.changed + b.failed > 0 {
            vec![Toast::error(text)]
        } else {
            vec![Toast::success(text)]
        }
    }
}

impl Pane for UsersPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn captures_input(&self) -> bool {
        self.dialog.is_some()
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
        self.changes = cx.changes.clone();
        match msg {
            PaneMsg::Activated => {
                let mut out = Vec::new();
                if !self.members.loaded
                    && let Some(p) = self.members.want(0)
                {
                    out.push(self.members_call(p));
                }
                if !self.queue.loaded
                    && let Some(p) = self.queue.want(0)
                {
                    out.push(Self::queue_call(p));
                }
                out
            }
            PaneMsg::Refresh => self.load_all(),
            PaneMsg::Poll => {
                // Every list follows the server (as after Ctrl-r), except a page already on
                // its way: IdP pushes show up within a poll, and the selection stays on its
                // row.
                let mut out = Vec::new();
                if self.queue.fetching.is_none()
                    && let Some(p) = self.queue.reload()
                {
                    out.push(Self::queue_call(p));
                }
                if self.members.loaded
                    && self.members.fetching.is_none()
                    && let Some(p) = self.members.reload()
                {
                    out.push(self.members_call(p));
                }
                if let Some(member_id) = self.detail_for.clone() {
                    out.push(call(ID, "detail", Call::MemberAccess { member_id }));
                }
                out
            }
            PaneMsg::Filter(f) => {
                // The filter is a member search on the server; the queue has none.
                self.filter = f;
                self.list = List::Members;
                self.members.reset();
                let mut out = Vec::new();
                if let Some(p) = self.members.want(0) {
                    out.push(self.members_call(p));
                }
                out
            }
            PaneMsg::Key(k) => self.on_dialog_key(k),
            PaneMsg::Action(a) => self.on_action(a, cx),
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let (list_area, detail_area) = if self.zoomed {
            (None, area)
        } else if area.width >= SIDE_PANEL_WIDTH {
            let [l, d] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(44)]).areas(area);
            (Some(l), d)
        } else {
            let detail_h = if area.height >= 16 { 8 } else { 5 };
            let [l, d] =
                Layout::vertical([Constraint::Min(5), Constraint::Length(detail_h)]).areas(area);
            (Some(l), d)
        };
        if let Some(l) = list_area {
            match self.list {
                List::Members => self.view_members(f, l, theme),
                List::Pending => self.view_queue(f, l, theme),
            }
        }
        self.view_detail(f, detail_area, theme);
        match &self.dialog {
            Some(Dialog::Confirm(ask)) => ask.confirm.render(f, area, &theme.widget_style()),
            Some(Dialog::Reason { prompt, .. }) => prompt.render(f, area, &theme.widget_style()),
            None => {}
        }
    }
}

/// Stack roles in one order (stack, then role, by name) whatever order the server used, so
/// that lists and diffs read the same on every refresh.
fn sort_roles(v: &mut [StackRoleRef]) {
    v.sort_by(|a, b| {
        (&a.stack_name, &a.role_name, &a.stack_uid, &a.role_uid).cmp(&(
            &b.stack_name,
            &b.role_name,
            &b.stack_uid,
            &b.role_uid,
        ))
    });
}

fn tidy_request(r: &mut ApprovalRequest) {
    sort_roles(&mut r.diff.stack_gains);
    sort_roles(&mut r.diff.stack_losses);
}

fn tidy_member(m: &mut Member) {
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

fn tidy_access(a: &mut MemberAccess) {
    tidy_member(&mut a.member);
    // The org role first, then stack roles in the same order as everywhere else.
    a.roles.sort_by_key(|e| match &e.role {
        RoleRef::Org { .. } => (0, String::new(), String::new()),
        RoleRef::Stack(s) => (1, s.stack_name.clone(), s.role_name.clone()),
    });
}

/// "Ann Lee <ann@acme.example>", or the email alone, or the member id.
fn person(r: &ApprovalRequest) -> String {
    match &r.member {
        Some(p) => p.email.clone(),
        None => r.member_id.clone(),
    }
}

fn state_words(m: &Member) -> String {
    let s = m.state.as_str();
    let waiting = m
        .request
        .as_ref()
        .is_some_and(|r| r.state == RequestState::Pending);
    if waiting && m.state != MemberState::Pending {
        format!("{s} ⧗")
    } else {
        s.to_string()
    }
}

fn stack_cell(m: &Member) -> String {
    let roles = m
        .granted
        .as_ref()
        .map(|a| &a.stack_roles[..])
        .unwrap_or(&[]);
    match roles {
        [] => "—".into(),
        [one] => format!("{} on {}", one.role_name, one.stack_name),
        [one, ..] => format!(
            "{} roles: {} on {}, …",
            roles.len(),
            one.role_name,
            one.stack_name
        ),
    }
}

fn groups_cell(m: &Member) -> String {
    if m.groups.is_empty() {
        return "—".into();
    }
    m.groups
        .iter()
        .map(|g| g.display_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl UsersPane {
    fn title(&self, theme: &Theme) -> Line<'static> {
        let tab = |label: String, on: bool| {
            if on {
                Span::styled(format!("▸{label}"), theme.title)
            } else {
                Span::styled(format!(" {label}"), theme.dim)
            }
        };
        let mut spans = vec![
            Span::raw(" "),
            tab(
                format!("Members ({})", self.members.total),
                self.list == List::Members,
            ),
            Span::raw(" │"),
            tab(
                format!("Pending ({})", self.queue.total),
                self.list == List::Pending,
            ),
        ];
        if !self.filter.is_empty() && self.list == List::Members {
            spans.push(Span::styled(format!(" /{}", self.filter), theme.badge));
        }
        if self.list == List::Pending && !self.marked.is_empty() {
            spans.push(Span::raw(format!(" · {} marked", self.marked.len())));
        }
        // Who left has no row: say how many, and where they are listed.
        if let Some(c) = &self.changes
            && self.list == List::Members
        {
            match c.left_count() {
                0 => {}
                n => spans.push(Span::styled(
                    format!(" · {n} left since {} — D lists them", c.against()),
                    theme.warn,
                )),
            }
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }

    fn list_block(&self, theme: &Theme) -> Block<'static> {
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(self.title(theme))
    }

    fn view_members(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = self.list_block(theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let m = &self.members;
        if let Some(e) = &self.error {
            f.render_widget(
                Paragraph::new(Line::styled(format!("✗ {e}"), theme.error))
                    .wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        if !m.loaded {
            f.render_widget(Paragraph::new("loading…"), inner);
            return;
        }
        if m.rows.is_empty() {
            let text = if self.filter.is_empty() {
                "No members yet: the IdP provisions them through SCIM.".to_string()
            } else {
                format!(
                    "No member matches '{}' (Esc clears the filter).",
                    self.filter
                )
            };
            f.render_widget(Paragraph::new(text), inner);
            return;
        }
        // With a comparison, a narrow first column marks who changed since OLD (`+`, `-`,
        // `~`), so the mark reads without colour; the detail panel says what in words.
        let changes = self.changes.as_deref();
        let mut header = vec!["NAME", "EMAIL", "STATE", "ROLE", "STACK ROLES", "GROUPS"];
        let mut widths = vec![
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Fill(2),
            Constraint::Fill(2),
        ];
        if changes.is_some() {
            header.insert(0, "Δ");
            widths.insert(0, Constraint::Length(1));
        }
        render_window(
            f,
            inner,
            Some(Row::new(header)),
            &widths,
            m.rows.len(),
            &m.win,
            true,
            &theme.widget_style(),
            |i| {
                let x = &m.rows[i];
                let mut cells = Vec::with_capacity(7);
                if let Some(c) = changes {
                    cells.push(match c.member(&x.id) {
                        Some(mc) => Cell::from(Span::styled(mc.mark(), theme.warn)),
                        None => Cell::from(" "),
                    });
                }
                cells.extend([
                    Cell::from(x.display_name.clone().unwrap_or_default()),
                    Cell::from(x.email.clone()),
                    Cell::from(state_words(x)),
                    Cell::from(
                        x.granted
                            .as_ref()
                            .map_or("—".to_string(), |a| a.org_role.to_string()),
                    ),
                    Cell::from(stack_cell(x)),
                    Cell::from(groups_cell(x)),
                ]);
                Row::new(cells)
            },
        );
    }

    fn view_queue(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = self.list_block(theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let q = &self.queue;
        if !q.loaded {
            f.render_widget(Paragraph::new("loading…"), inner);
            return;
        }
        if q.rows.is_empty() {
            f.render_widget(Paragraph::new("✓ No request waits for approval."), inner);
            return;
        }
        let header = Row::new(["", "MEMBER", "CHANGE", "DIFF", "", "SINCE"]);
        let widths = [
            Constraint::Length(3),
            Constraint::Fill(3),
            Constraint::Length(11),
            Constraint::Length(22),
            Constraint::Length(7),
            Constraint::Length(11),
        ];
        render_window(
            f,
            inner,
            Some(header),
            &widths,
            q.rows.len(),
            &q.win,
            true,
            &theme.widget_style(),
            |i| {
                let r = &q.rows[i];
                let mark = if self.marked.contains_key(&r.id) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let tag = if self.changed.contains(&r.id) {
                    Span::styled("changed", theme.warn)
                } else if self.new.contains(&r.id) {
                    Span::styled("new", theme.badge)
                } else {
                    Span::raw("")
                };
                Row::new(vec![
                    Cell::from(mark),
                    Cell::from(person(r)),
                    Cell::from(kind_words(r.kind)),
                    Cell::from(diff_summary(&r.diff)),
                    Cell::from(tag),
                    Cell::from(short_time(&r.created_at, TimeWidth::MonthDay)),
                ])
            },
        );
    }

    fn detail_lines(&self, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if self.list == List::Pending {
            let Some(r) = self.queue.current() else {
                lines.push(Line::from("Nothing selected."));
                return lines;
            };
            lines.push(Line::styled(
                format!("{} · {}", person(r), kind_words(r.kind)),
                theme.title,
            ));
            if self.changed.contains(&r.id) {
                lines.push(Line::styled(
                    "⚠ this request changed; review it again",
                    theme.warn,
                ));
            }
            let head = format!("Request v{} · {}", r.version, r.state.as_str());
            let since = format!("since {}", short_time(&r.created_at, TimeWidth::Minutes));
            // One line when it fits (80 columns), two in the side panel, never a broken time.
            if head.chars().count() + since.len() + 3 <= width {
                lines.push(Line::from(format!("{head} · {since}")));
            } else {
                lines.push(Line::from(head));
                lines.push(Line::from(since));
            }
            lines.push(Line::styled("Diff (granted → requested):", theme.title));
            for l in diff_lines(&r.diff) {
                lines.push(Line::from(format!("  {l}")));
            }
        }
        let Some(d) = self
            .detail
            .as_ref()
            .filter(|d| Some(&d.member.id) == self.detail_for.as_ref())
        else {
            if self.detail_for.is_some() {
                lines.push(Line::styled("loading…", theme.dim));
            } else if self.list == List::Members {
                lines.push(Line::from("Nothing selected."));
            }
            return lines;
        };
        let m = &d.member;
        if self.list == List::Members {
            let name = m
                .display_name
                .as_deref()
                .map(|n| format!("{n} <{}>", m.email))
                .unwrap_or_else(|| m.email.clone());
            lines.push(Line::styled(truncate(&name, width), theme.title));
            let source = match m.source {
                MemberSource::Scim => "provisioned by the IdP (SCIM)",
                MemberSource::Manual => "added by an admin",
            };
            lines.push(Line::from(format!("{} · {source}", m.state.as_str())));
            lines.extend(self.change_lines(&m.id, theme));
            lines.push(Line::from(format!(
                "Granted: {}",
                access_words(m.granted.as_ref())
            )));
            if m.requested != m.granted {
                lines.push(Line::from(format!(
                    "Requested: {}",
                    access_words(m.requested.as_ref())
                )));
            }
            if let Some(r) = m
                .request
                .as_ref()
                .filter(|r| r.state == RequestState::Pending)
            {
                lines.push(Line::styled(
                    format!("⧗ Pending ({}): a approves, r rejects", kind_words(r.kind)),
                    theme.warn,
                ));
                for l in diff_lines(&r.diff) {
                    lines.push(Line::from(format!("  {l}")));
                }
            }
        } else {
            // A request's member changed since OLD too: said after the request.
            lines.extend(self.change_lines(&m.id, theme));
        }
        lines.push(Line::styled("Why each role:", theme.title));
        if d.roles.is_empty() {
            lines.push(Line::from("  no role"));
        }
        for e in &d.roles {
            let role = match &e.role {
                RoleRef::Org { org_role } => format!("{org_role} (org)"),
                RoleRef::Stack(s) => format!("{} on {}", s.role_name, s.stack_name),
            };
            let mark = match (e.granted, e.requested) {
                (true, _) => "✓",
                (false, true) => "⧗",
                (false, false) => "·",
            };
            let state = match (e.granted, e.requested) {
                (true, true) | (true, false) => "",
                (false, true) => " (pending)",
                (false, false) => "",
            };
            let via: Vec<String> = e
                .via
                .iter()
                .map(|v| match v {
                    Via::Group { group_name, .. } => format!("group {group_name}"),
                    Via::Manual => "set by an admin".to_string(),
                })
                .collect();
            let via = if via.is_empty() {
                "the default role".to_string()
            } else {
                via.join(", ")
            };
            lines.push(Line::from(format!("  {mark} {role}{state} ← {via}")));
        }
        lines
    }

    /// What changed about this member since OLD, in words (see [`super::change_lines`]).
    fn change_lines(&self, member_id: &str, theme: &Theme) -> Vec<Line<'static>> {
        match &self.changes {
            Some(c) => super::change_lines(
                c.against(),
                c.member(member_id).map(|x| x.parts()).unwrap_or_default(),
                theme,
            ),
            None => Vec::new(),
        }
    }

    fn view_detail(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let title = match self.list {
            List::Members => " Member ",
            List::Pending => " Request ",
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(title);
        let width = area.width.saturating_sub(2) as usize;
        let lines = self.detail_lines(theme, width);
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::paged::{MAX_PAGES, PAGE};
    use super::*;
    use crate::client::Decision;
    use crate::console::widgets::test_util::screen;
    use ratatui::crossterm::event::KeyModifiers;
    use serde_json::json;

    fn member(i: usize) -> Member {
        serde_json::from_value(json!({
            "id": format!("u{i}"),
            "email": format!("user{i:05}@acme.example"),
            "display_name": format!("User {i}"),
            "state": "active",
            "source": "scim",
            "groups": [{"id": "g1", "display_name": "Engineering"}],
            "granted": {"org_role": "member", "stack_roles": []},
            "requested": {"org_role": "member", "stack_roles": []},
            "created_at": "2026-11-23T10:00:00Z"
        }))
        .unwrap()
    }

    fn request(id: &str, member_id: &str, version: i64) -> ApprovalRequest {
        serde_json::from_value(json!({
            "id": id,
            "member_id": member_id,
            "member": {"email": format!("{member_id}@acme.example")},
            "kind": "access_increase",
            "state": "pending",
            "version": version,
            "diff": {
                "org_role_from": "member", "org_role_to": "member",
                "stack_gains": [{"stack_uid": "mobile", "stack_name": "Mobile App",
                                 "role_uid": "developer", "role_name": "Developer"}],
                "stack_losses": []
            },
            "created_at": "2026-11-23T10:00:00Z"
        }))
        .unwrap()
    }

    fn cx() -> Ctx {
        Ctx {
            page_rows: 10,
            ..Default::default()
        }
    }

    fn k(c: KeyCode) -> PaneMsg {
        PaneMsg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn act(p: &mut UsersPane, a: Action) -> Vec<Cmd> {
        p.update(PaneMsg::Action(a), &cx())
    }

    fn calls(cmds: &[Cmd]) -> Vec<(&'static str, Call)> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Call { slot, call, .. } => Some((*slot, call.clone())),
                _ => None,
            })
            .collect()
    }

    fn toasts(cmds: &[Cmd]) -> Vec<String> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Toast(t) => Some(t.text.clone()),
                _ => None,
            })
            .collect()
    }

    fn users_call(cursor: Option<&str>) -> Call {
        Call::Users(UserQuery {
            filter: None,
            state: None,
            page: PageReq {
                limit: Some(PAGE as u32),
                cursor: cursor.map(str::to_string),
            },
        })
    }

    /// The pane's answer to `result` arriving for `call` in `slot`.
    fn reply(
        p: &mut UsersPane,
        slot: &'static str,
        call: Call,
        result: Result<Reply, ApiError>,
    ) -> Vec<Cmd> {
        p.update(PaneMsg::Reply { slot, call, result }, &cx())
    }

    /// The answer to a members page of the 1,000-member org below.
    fn members_reply(p: &mut UsersPane, call: Call, total: usize) -> Vec<Cmd> {
        let Call::Users(q) = &call else { panic!() };
        let start = match q.page.cursor.as_deref() {
            None => 0,
            Some(c) => c.trim_start_matches('c').parse::<usize>().unwrap(),
        };
        let end = (start + PAGE).min(total);
        let page = Page {
            items: (start..end).map(member).collect(),
            total: total as u64,
            next: (end < total).then(|| format!("c{end}")),
        };
        reply(p, "list", call, Ok(Reply::Users(page)))
    }

    fn queue_call() -> Call {
        Call::Approvals {
            state: Some(RequestState::Pending),
            page: PageReq::first(PAGE as u32),
        }
    }

    fn queue_reply(p: &mut UsersPane, items: Vec<ApprovalRequest>) -> Vec<Cmd> {
        let total = items.len() as u64;
        reply(
            p,
            "queue",
            queue_call(),
            Ok(Reply::Approvals(Page {
                items,
                total,
                next: None,
            })),
        )
    }

    /// A pane with a 3-member page and a 2-request queue, on the queue.
    fn with_queue() -> UsersPane {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 3);
        queue_reply(&mut p, vec![request("q1", "u1", 1), request("q2", "u2", 4)]);
        act(&mut p, Action::SwitchList);
        p
    }

    fn decision(r: &ApprovalRequest, state: &str, m: Member) -> Decision {
        let mut r = r.clone();
        r.state = RequestState::parse(state).unwrap();
        Decision {
            request: r,
            member: m,
        }
    }

    #[test]
    fn activation_loads_the_first_page_of_members_and_of_the_queue_once() {
        let mut p = UsersPane::default();
        let c = calls(&p.update(PaneMsg::Activated, &cx()));
        assert_eq!(c, vec![("list", users_call(None)), ("queue", queue_call())]);
        assert!(
            p.update(PaneMsg::Activated, &cx()).is_empty(),
            "the same pages are already on their way"
        );
    }

    #[test]
    fn moving_loads_the_detail_of_the_selected_member_through_the_detail_slot() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        let c = calls(&members_reply(&mut p, users_call(None), 3));
        assert_eq!(
            c,
            vec![(
                "detail",
                Call::MemberAccess {
                    member_id: "u0".into()
                }
            )]
        );
        let c = calls(&act(&mut p, Action::Down));
        assert_eq!(
            c,
            vec![(
                "detail",
                Call::MemberAccess {
                    member_id: "u1".into()
                }
            )]
        );
        // At the last row, Down changes nothing and asks for nothing.
        act(&mut p, Action::Bottom);
        assert_eq!(p.members.selected(), 2);
        assert!(act(&mut p, Action::Down).is_empty());
    }

    #[test]
    fn scrolling_pages_from_the_server_and_holds_at_most_three_pages() {
        let total = 1000;
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), total);
        assert_eq!(p.members.rows.len(), PAGE);
        // Walk down row by row: each next page is asked for, with its cursor, before the
        // selection reaches the end of what is loaded.
        let mut fetched = Vec::new();
        for _ in 0..(total - 1) {
            for (slot, c) in calls(&act(&mut p, Action::Down)) {
                if slot == "list" {
                    fetched.push(c.clone());
                    members_reply(&mut p, c, total);
                }
            }
            assert!(p.members.rows.len() <= MAX_PAGES * PAGE);
            let sel = p.members.selected();
            assert_eq!(p.members.current().unwrap().id, format!("u{sel}"));
        }
        assert_eq!(p.members.selected(), total - 1);
        assert_eq!(
            fetched,
            vec![
                users_call(Some("c200")),
                users_call(Some("c400")),
                users_call(Some("c600")),
                users_call(Some("c800")),
            ]
        );
        assert_eq!(p.members.base, 400, "the first two pages were dropped");
        // g goes back to the top: page 0 is fetched again (no cursor), then the selection
        // lands on the first row once it arrives.
        let c = calls(&act(&mut p, Action::Top));
        assert_eq!(
            p.members.selected(),
            400,
            "stops at the loaded edge meanwhile"
        );
        let list: Vec<_> = c.into_iter().filter(|(s, _)| *s == "list").collect();
        assert_eq!(list, vec![("list", users_call(Some("c200")))]);
        let c = calls(&members_reply(&mut p, list[0].1.clone(), total));
        assert_eq!(c[0], ("list", users_call(None)));
        members_reply(&mut p, c[0].1.clone(), total);
        assert_eq!(p.members.selected(), 0);
        assert_eq!(p.members.current().unwrap().id, "u0");
        assert!(p.members.rows.len() <= MAX_PAGES * PAGE);
    }

    #[test]
    fn bottom_walks_to_the_last_row_page_by_page() {
        let total = 650;
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), total);
        let mut cmds = act(&mut p, Action::Bottom);
        let mut pages = 0;
        while let Some((_, c)) = calls(&cmds).into_iter().find(|(s, _)| *s == "list") {
            pages += 1;
            cmds = members_reply(&mut p, c, total);
        }
        assert_eq!(pages, 3);
        assert_eq!(p.members.selected(), total - 1);
        assert_eq!(p.members.current().unwrap().id, "u649");
    }

    #[test]
    fn the_filter_goes_to_the_server_and_restarts_the_members_list() {
        let mut p = with_queue();
        let c = calls(&p.update(PaneMsg::Filter("ann".into()), &cx()));
        assert_eq!(
            c,
            vec![(
                "list",
                Call::Users(UserQuery {
                    filter: Some("ann".into()),
                    state: None,
                    page: PageReq::first(PAGE as u32),
                })
            )]
        );
        assert_eq!(p.list, List::Members);
        assert!(!p.members.loaded);
    }

    #[test]
    fn approve_sends_the_version_seen_and_the_decision_updates_queue_and_member() {
        let mut p = with_queue();
        let c = calls(&act(&mut p, Action::Approve));
        assert_eq!(
            c,
            vec![(
                "decide",
                Call::Approve {
                    request_id: "q1".into(),
                    version: 1
                }
            )]
        );
        let mut m = member(1);
        m.granted = m.requested.clone();
        m.display_name = Some("Now Granted".into());
        let d = decision(&p.queue.rows[0], "approved", m);
        let cmds = reply(&mut p, "decide", c[0].1.clone(), Ok(Reply::Decision(d)));
        assert_eq!(
            toasts(&cmds),
            ["approved: u1@acme.example (+1 stack)".to_string()]
        );
        assert!(calls(&cmds).contains(&("queue", queue_call())));
        assert_eq!(p.queue.total, 1);
        assert_eq!(p.queue.current().unwrap().id, "q2");
        assert_eq!(
            p.members.rows[1].display_name.as_deref(),
            Some("Now Granted")
        );
    }

    #[test]
    fn approve_from_the_members_list_acts_on_the_members_own_request() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 2);
        let cmds = act(&mut p, Action::Approve);
        assert!(toasts(&cmds)[0].contains("no pending request"));
        p.members.rows[0].request = Some(request("q9", "u0", 7));
        let c = calls(&act(&mut p, Action::Approve));
        assert_eq!(
            c[0].1,
            Call::Approve {
                request_id: "q9".into(),
                version: 7
            }
        );
    }

    #[test]
    fn reject_takes_a_typed_reason() {
        let mut p = with_queue();
        act(&mut p, Action::Down);
        assert!(act(&mut p, Action::Reject).is_empty());
        assert!(p.captures_input());
        // An empty reason is refused; the prompt stays.
        assert!(p.update(k(KeyCode::Enter), &cx()).is_empty());
        assert!(p.captures_input());
        for ch in "not on the team".chars() {
            p.update(k(KeyCode::Char(ch)), &cx());
        }
        let c = calls(&p.update(k(KeyCode::Enter), &cx()));
        assert_eq!(
            c,
            vec![(
                "decide",
                Call::Reject {
                    request_id: "q2".into(),
                    version: 4,
                    reason: "not on the team".into()
                }
            )]
        );
        assert!(!p.captures_input());
        // Esc backs out without a call.
        act(&mut p, Action::Reject);
        assert!(p.update(k(KeyCode::Esc), &cx()).is_empty());
        assert!(p.dialog.is_none());
    }

    #[test]
    fn bulk_approve_confirms_with_the_count_and_defaults_to_cancel() {
        let mut p = with_queue();
        act(&mut p, Action::Mark);
        act(&mut p, Action::Mark);
        assert_eq!(p.marked.len(), 2);
        act(&mut p, Action::ApproveMarked);
        match &p.dialog {
            Some(Dialog::Confirm(Ask { confirm, .. })) => {
                assert_eq!(confirm.action, "Approve 2");
                assert!(confirm.message.contains("Approve 2 pending requests?"));
                assert!(!confirm.on_action(), "starts on Cancel");
            }
            d => panic!("{d:?}"),
        }
        assert!(p.update(k(KeyCode::Enter), &cx()).is_empty());
        assert!(p.dialog.is_none());
        assert_eq!(p.marked.len(), 2, "cancel keeps the marks");
        act(&mut p, Action::ApproveMarked);
        p.update(k(KeyCode::Tab), &cx());
        let c = calls(&p.update(k(KeyCode::Enter), &cx()));
        assert_eq!(
            c,
            vec![
                (
                    "decide",
                    Call::Approve {
                        request_id: "q1".into(),
                        version: 1
                    }
                ),
                (
                    "decide",
                    Call::Approve {
                        request_id: "q2".into(),
                        version: 4
                    }
                ),
            ]
        );
        // One answer approved, the other changed meanwhile: one summary toast.
        let first = decision(&p.queue.rows[0], "approved", member(1));
        let cmds = reply(&mut p, "decide", c[0].1.clone(), Ok(Reply::Decision(first)));
        assert!(toasts(&cmds).is_empty());
        let cmds = reply(
            &mut p,
            "decide",
            c[1].1.clone(),
            Err(ApiError::Conflict {
                message: "version".into(),
                request: Some(Box::new(request("q2", "u2", 5))),
            }),
        );
        assert_eq!(
            toasts(&cmds),
            ["approved 1; 1 changed since marked: review them again".to_string()]
        );
        assert!(p.marked.is_empty());
        assert!(p.bulk.is_none());
    }

    #[test]
    fn a_409_shows_the_refreshed_diff_and_says_review_it_again() {
        let mut p = with_queue();
        let c = calls(&act(&mut p, Action::Approve));
        let mut fresh = request("q1", "u1", 2);
        fresh.diff.org_role_to = Some(crate::domain::access::OrgRole::Admin);
        let cmds = reply(
            &mut p,
            "decide",
            c[0].1.clone(),
            Err(ApiError::Conflict {
                message: "version".into(),
                request: Some(Box::new(fresh)),
            }),
        );
        assert_eq!(
            toasts(&cmds),
            ["this request changed; review it again".to_string()]
        );
        assert_eq!(p.queue.current().unwrap().version, 2);
        assert!(p.changed.contains("q1"));
        let s = screen(120, 20, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("⚠ this request changed; review it again"), "{s}");
        assert!(s.contains("+ org role: Member → Admin"), "{s}");
        assert!(s.contains("+ Developer on Mobile App"), "{s}");
        assert!(s.contains("changed"), "the row is tagged:\n{s}");
        // Approving again sends the new version.
        let c = calls(&act(&mut p, Action::Approve));
        assert_eq!(
            c[0].1,
            Call::Approve {
                request_id: "q1".into(),
                version: 2
            }
        );
    }

    #[test]
    fn auth_errors_say_which_token_and_which_role() {
        let mut p = with_queue();
        let c = calls(&act(&mut p, Action::Approve));
        let cmds = reply(
            &mut p,
            "decide",
            c[0].1.clone(),
            Err(ApiError::Forbidden {
                token: "SCIMDESK_TOKEN".into(),
                needs: crate::client::Needs::OwnerOrAdmin,
                message: "member".into(),
            }),
        );
        let t = &toasts(&cmds)[0];
        assert!(t.starts_with("cannot approve"), "{t}");
        assert!(
            t.contains("SCIMDESK_TOKEN") && t.contains("Owner or Admin"),
            "{t}"
        );
        // A refused list load stays on screen, not only in a toast.
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        reply(
            &mut p,
            "list",
            users_call(None),
            Err(ApiError::Unauthorized {
                token: "profile acme".into(),
                message: "revoked".into(),
            }),
        );
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("profile acme"), "{s}");
    }

    #[test]
    fn a_poll_refreshes_the_queue_and_tags_what_is_new_until_seen() {
        let mut p = with_queue();
        assert!(p.new.is_empty(), "nothing is new on the first load");
        let c = calls(&p.update(PaneMsg::Poll, &cx()));
        assert_eq!(
            c[..2],
            [("queue", queue_call()), ("list", users_call(None))]
        );
        queue_reply(
            &mut p,
            vec![
                request("q1", "u1", 1),
                request("q2", "u2", 4),
                request("q3", "u0", 1),
            ],
        );
        assert_eq!(p.new, HashSet::from(["q3".to_string()]));
        let s = screen(120, 20, |f| p.view(f, f.area(), &Theme::mono()));
        let row = s.lines().find(|l| l.contains("u0@acme")).unwrap();
        assert!(row.contains("new"), "{row}");
        act(&mut p, Action::Bottom);
        assert!(p.new.is_empty(), "selecting it is seeing it");
    }

    /// The members list follows the server on each poll, and the selection stays on its
    /// member when rows before it come or go; a poll does not ask again for a page on its way.
    #[test]
    fn a_poll_refreshes_the_members_and_the_selection_follows_its_member() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 3);
        act(&mut p, Action::Down);
        act(&mut p, Action::Down);
        assert_eq!(p.members.current().unwrap().id, "u2");
        let c = calls(&p.update(PaneMsg::Poll, &cx()));
        let list: Vec<_> = c.iter().filter(|(slot, _)| *slot == "list").collect();
        assert_eq!(list, [&("list", users_call(None))]);
        assert!(
            calls(&p.update(PaneMsg::Poll, &cx()))
                .iter()
                .all(|(slot, _)| *slot != "list"),
            "the page is already on its way"
        );
        // u0 left and u9 came: u2 is now the second row, and stays selected.
        let page = Page {
            items: vec![member(1), member(2), member(9)],
            total: 3,
            next: None,
        };
        reply(&mut p, "list", users_call(None), Ok(Reply::Users(page)));
        assert_eq!(p.members.current().unwrap().id, "u2");
        assert_eq!(p.members.selected(), 1);
        // When the selected member is gone, the selection keeps its place.
        let page = Page {
            items: vec![member(1), member(9)],
            total: 2,
            next: None,
        };
        p.update(PaneMsg::Poll, &cx());
        reply(&mut p, "list", users_call(None), Ok(Reply::Users(page)));
        assert_eq!(p.members.current().unwrap().id, "u9");
    }

    /// With the server down, a poll's failures are the banner's to tell: no toast every 5 s,
    /// and the list says it could not load.
    #[test]
    fn a_poll_against_an_unreachable_server_adds_no_toasts() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 3);
        p.update(PaneMsg::Poll, &cx());
        let out = reply(
            &mut p,
            "list",
            users_call(None),
            Err(ApiError::Unreachable {
                url: "http://127.0.0.1:1".into(),
                detail: "connection refused".into(),
            }),
        );
        assert!(toasts(&out).is_empty(), "{:?}", toasts(&out));
        assert!(p.error.is_some(), "the list says it could not load");
    }

    /// A request decided elsewhere leaves the queue on a poll: the selection stays on the
    /// request the admin was reading, so `a` never approves the one that slid under it.
    #[test]
    fn the_queue_selection_stays_on_its_request_when_one_before_it_leaves() {
        let mut p = with_queue();
        act(&mut p, Action::Down);
        assert_eq!(p.queue.current().unwrap().id, "q2");
        p.update(PaneMsg::Poll, &cx());
        queue_reply(&mut p, vec![request("q2", "u2", 4), request("q3", "u0", 1)]);
        assert_eq!(p.queue.current().unwrap().id, "q2");
    }

    #[test]
    fn a_marked_request_that_changed_on_refresh_is_unmarked() {
        let mut p = with_queue();
        act(&mut p, Action::Mark);
        queue_reply(&mut p, vec![request("q1", "u1", 3), request("q2", "u2", 4)]);
        assert!(p.marked.is_empty());
        assert!(p.changed.contains("q1"));
    }

    #[test]
    fn marks_of_requests_that_left_the_queue_are_dropped_on_refresh() {
        let mut p = with_queue();
        act(&mut p, Action::Mark);
        act(&mut p, Action::Mark);
        queue_reply(&mut p, vec![request("q2", "u2", 4)]);
        assert_eq!(p.marked.keys().collect::<Vec<_>>(), ["q2"]);
        act(&mut p, Action::ApproveMarked);
        match &p.dialog {
            Some(Dialog::Confirm(Ask { confirm, .. })) => assert_eq!(confirm.action, "Approve 1"),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn a_second_bulk_approval_waits_for_the_first() {
        let mut p = with_queue();
        act(&mut p, Action::Mark);
        act(&mut p, Action::ApproveMarked);
        p.update(k(KeyCode::Tab), &cx());
        assert_eq!(calls(&p.update(k(KeyCode::Enter), &cx())).len(), 1);
        let cmds = act(&mut p, Action::ApproveMarked);
        assert!(toasts(&cmds)[0].contains("still waits for 1"));
        assert!(p.dialog.is_none());
    }

    fn access_of(m: Member) -> MemberAccess {
        serde_json::from_value(json!({
            "member": serde_json::to_value(json!({
                "id": m.id, "email": m.email, "display_name": m.display_name,
                "state": "active", "source": "scim", "created_at": m.created_at,
                "granted": {"org_role": "member", "stack_roles": []},
                "requested": {"org_role": "admin", "stack_roles": [
                    {"stack_uid": "mobile", "stack_name": "Mobile App",
                     "role_uid": "developer", "role_name": "Developer"}]}
            })).unwrap(),
            "roles": [
                {"role": {"stack_uid": "mobile", "stack_name": "Mobile App",
                          "role_uid": "developer", "role_name": "Developer"},
                 "granted": false, "requested": true,
                 "via": [{"kind": "group", "group_id": "g2", "group_name": "Mobile"}]},
                {"role": {"org_role": "member"}, "granted": true, "requested": false,
                 "via": []},
                {"role": {"org_role": "admin"}, "granted": false, "requested": true,
                 "via": [{"kind": "group", "group_id": "g3", "group_name": "Admins"},
                         {"kind": "manual"}]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_detail_explains_each_role_and_ignores_another_members_answer() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 3);
        let answer = |p: &mut UsersPane, a: MemberAccess| {
            let member_id = a.member.id.clone();
            reply(
                p,
                "detail",
                Call::MemberAccess { member_id },
                Ok(Reply::MemberAccess(a)),
            )
        };
        // An answer for a row the cursor already left does not land.
        answer(&mut p, access_of(member(2)));
        assert!(p.detail.is_none());
        answer(&mut p, access_of(member(0)));
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        for want in [
            "User 0 <user00000@acme.example>",
            "active · provisioned by the IdP (SCIM)",
            "Granted: Member",
            "Requested: Admin · Developer on Mobile App",
            "✓ Member (org) ← the default role",
        ] {
            assert!(s.contains(want), "'{want}' in:\n{s}");
        }
        act(&mut p, Action::Open);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(
            s.contains("⧗ Admin (org) (pending) ← group Admins, set by an admin"),
            "{s}"
        );
        assert!(
            s.contains("⧗ Developer on Mobile App (pending) ← group Mobile"),
            "{s}"
        );
        // The org role comes first, whatever the server's order.
        let org = s.find("Member (org)").unwrap();
        let stack = s.find("Developer on Mobile App (pending)").unwrap();
        assert!(org < stack);
    }

    #[test]
    fn marks_are_for_the_queue() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 2);
        assert!(toasts(&act(&mut p, Action::Mark))[0].contains("press p"));
        assert!(toasts(&act(&mut p, Action::ApproveMarked))[0].contains("nothing is marked"));
    }

    #[test]
    fn remove_asks_as_a_dangerous_action_and_shows_the_servers_warning() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 2);
        act(&mut p, Action::RemoveMember);
        match &p.dialog {
            Some(Dialog::Confirm(Ask { confirm, .. })) => {
                assert!(confirm.danger);
                assert!(!confirm.on_action());
                assert!(confirm.message.contains("user00000@acme.example"));
                assert!(confirm.message.contains("⚠ The IdP manages this member"));
            }
            d => panic!("{d:?}"),
        }
        assert!(
            p.update(k(KeyCode::Enter), &cx()).is_empty(),
            "Cancel first"
        );
        act(&mut p, Action::RemoveMember);
        p.update(k(KeyCode::Tab), &cx());
        let c = calls(&p.update(k(KeyCode::Enter), &cx()));
        assert_eq!(
            c,
            vec![(
                "remove",
                Call::RemoveMember {
                    member_id: "u0".into()
                }
            )]
        );
        let mut gone = member(0);
        gone.state = MemberState::Removed;
        let removal: crate::client::Removal = crate::client::Removal {
            member: gone,
            warnings: vec![crate::client::Warning {
                code: "idp_managed".into(),
                message: "The IdP may provision this member again".into(),
            }],
        };
        let cmds = reply(
            &mut p,
            "remove",
            c[0].1.clone(),
            Ok(Reply::Removed(removal)),
        );
        assert_eq!(
            toasts(&cmds),
            [
                "user00000@acme.example removed from the org".to_string(),
                "⚠ The IdP may provision this member again".to_string()
            ]
        );
        assert_eq!(p.members.rows[0].state, MemberState::Removed);
        assert!(toasts(&act(&mut p, Action::RemoveMember))[0].contains("already removed"));
    }

    #[test]
    fn read_only_refuses_the_dangerous_actions_even_if_they_arrive() {
        let mut p = with_queue();
        let ro = Ctx {
            read_only: true,
            ..Default::default()
        };
        for a in [
            Action::Approve,
            Action::Reject,
            Action::Mark,
            Action::ApproveMarked,
            Action::RemoveMember,
        ] {
            assert!(p.update(PaneMsg::Action(a), &ro).is_empty(), "{a:?}");
        }
        assert!(p.dialog.is_none() && p.marked.is_empty());
        let km = crate::console::keymap::Keymap::build(
            &super::super::bindings(),
            &Default::default(),
            true,
        )
        .unwrap();
        let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.lookup(PaneId::Users, &key('a')), None);
        assert_eq!(km.lookup(PaneId::Users, &key('x')), None);
        assert_eq!(
            km.lookup(PaneId::Users, &key('p')),
            Some(Action::SwitchList)
        );
    }

    #[test]
    fn layouts_put_the_detail_below_at_80_columns_and_beside_at_120() {
        let mut p = UsersPane::default();
        p.update(PaneMsg::Activated, &cx());
        members_reply(&mut p, users_call(None), 3);
        let narrow = screen(80, 20, |f| p.view(f, f.area(), &Theme::mono()));
        let lines: Vec<&str> = narrow.lines().collect();
        let member_box = lines.iter().position(|l| l.contains("Member ─")).unwrap();
        assert!(member_box > 5, "detail under the list:\n{narrow}");
        let wide = screen(120, 20, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(
            wide.lines().next().unwrap().contains("Member"),
            "detail beside the list:\n{wide}"
        );
        // Enter zooms the detail at any size; Esc comes back.
        act(&mut p, Action::Open);
        let zoomed = screen(80, 20, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(!zoomed.contains("EMAIL"), "{zoomed}");
        act(&mut p, Action::Back);
        assert!(!p.zoomed);
    }

    /// `changes::tests::pair()` as a review would show it: Bob gained a role, Eve joined, Cat
    /// is unchanged, Ann left.
    fn comparing() -> Ctx {
        let (old, new) = crate::console::changes::tests::pair();
        Ctx {
            page_rows: 10,
            read_only: true,
            changes: Some(Arc::new(Changes::new(&old, &new, "q1.json"))),
            ..Default::default()
        }
    }

    fn compared_members(p: &mut UsersPane, cx: &Ctx) {
        p.update(PaneMsg::Activated, cx);
        let items: Vec<Member> = ["u-bob", "u-cat", "u-eve"]
            .iter()
            .enumerate()
            .map(|(i, id)| Member {
                id: id.to_string(),
                ..member(i)
            })
            .collect();
        p.update(
            PaneMsg::Reply {
                slot: "list",
                call: users_call(None),
                result: Ok(Reply::Users(Page {
                    items,
                    total: 3,
                    next: None,
                })),
            },
            cx,
        );
    }

    fn detail_reply(p: &mut UsersPane, a: MemberAccess, cx: &Ctx) {
        let member_id = a.member.id.clone();
        p.update(
            PaneMsg::Reply {
                slot: "detail",
                call: Call::MemberAccess { member_id },
                result: Ok(Reply::MemberAccess(a)),
            },
            cx,
        );
    }

    fn row<'a>(screen: &'a str, email: &str) -> &'a str {
        screen
            .lines()
            .find(|l| l.contains(email))
            .unwrap_or_else(|| panic!("no row for {email}:\n{screen}"))
    }

    #[test]
    fn with_a_comparison_changed_members_are_marked_and_the_detail_says_what_changed() {
        let cmp = comparing();
        let mut p = UsersPane::default();
        compared_members(&mut p, &cmp);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        // A mark column before the name: `+` for Bob (gained) and Eve (joined), blank for
        // Cat; the mark is a symbol, not a colour.
        assert!(row(&s, "user00000").contains("│› + User 0"), "{s}");
        assert!(row(&s, "user00001").contains("│    User 1"), "{s}");
        assert!(row(&s, "user00002").contains("│  + User 2"), "{s}");
        assert!(s.contains("│  Δ NAME"), "{s}");
        // Ann left: no row, but the title counts her and says where she is listed.
        assert!(s.contains("1 left since q1.json — D lists them"), "{s}");

        // Bob's detail: his one change on one line.
        detail_reply(&mut p, access_of(member(0)).with_id("u-bob"), &cmp);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(
            s.contains("Δ since q1.json: + stack role Website / Content Manager"),
            "{s}"
        );
        // Eve's: a heading, then a line per change.
        p.update(PaneMsg::Action(Action::Bottom), &cmp);
        detail_reply(&mut p, access_of(member(2)).with_id("u-eve"), &cmp);
        let s = screen(80, 30, |f| p.view(f, f.area(), &Theme::mono()));
        let lines: Vec<&str> = s.lines().collect();
        let head = lines
            .iter()
            .position(|l| l.contains("Δ since q1.json:"))
            .unwrap_or_else(|| panic!("{s}"));
        for (i, want) in [
            "  + joined as active, org role admin",
            "  + stack role Mobile app / Admin",
            "  + stack role Website / Developer",
        ]
        .iter()
        .enumerate()
        {
            assert!(lines[head + 1 + i].contains(want), "{want}:\n{s}");
        }
        // Cat did not change: her detail says nothing about OLD.
        p.update(PaneMsg::Action(Action::Up), &cmp);
        detail_reply(&mut p, access_of(member(1)).with_id("u-cat"), &cmp);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("User 1 <user00001@acme.example>"), "{s}");
        assert!(!s.contains("since q1.json:"), "{s}");

        // In the queue, a request of a member who changed says so after the request.
        p.update(
            PaneMsg::Reply {
                slot: "queue",
                call: queue_call(),
                result: Ok(Reply::Approvals(Page {
                    items: vec![request("q1", "u-bob", 1)],
                    total: 1,
                    next: None,
                })),
            },
            &cmp,
        );
        p.update(PaneMsg::Action(Action::SwitchList), &cmp);
        detail_reply(&mut p, access_of(member(0)).with_id("u-bob"), &cmp);
        let s = screen(120, 30, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("u-bob@acme.example · more access"), "{s}");
        assert!(
            s.contains("││Δ since q1.json: + stack role Website /"),
            "{s}"
        );
        // The left count belongs to the Members list.
        assert!(!s.contains(" left since"), "{s}");
    }

    #[test]
    fn without_a_comparison_there_is_no_mark_column_and_no_left_count() {
        let mut p = UsersPane::default();
        compared_members(&mut p, &cx());
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(row(&s, "user00000").contains("│› User 0"), "{s}");
        assert!(!s.contains('Δ') && !s.contains(" left since"), "{s}");
        // The comparison goes with the context: a later update without one drops the marks.
        let cmp = comparing();
        p.update(PaneMsg::Poll, &cmp);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(row(&s, "user00000").contains("│› + User 0"), "{s}");
        p.update(PaneMsg::Poll, &cx());
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(row(&s, "user00000").contains("│› User 0"), "{s}");
    }

    impl MemberAccess {
        fn with_id(mut self, id: &str) -> MemberAccess {
            self.member.id = id.to_string();
            self
        }
    }
}
