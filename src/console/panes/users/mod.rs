//! The Users pane: the org's members (name, email, state, org role, stack roles, groups), a
//! detail panel that explains each role, and the pending-approval queue (diffs in words,
//! approve, reject with a reason, bulk approve, new requests tagged), plus removing a member.
//!
//! Both lists page on the server (see [`super::common::paged`]): the pane holds at most three pages of rows and
//! remembers the cursor of every page it saw, so it can walk back up after dropping the top.
//! Only the rows on screen are built when drawing.

mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_states;
mod update;
mod view;

pub use state::*;

use crate::client::{
    ApiError, ApprovalRequest, Member, MemberAccess, MemberSource, Page, PageReq, RoleRef,
    StackRoleRef, UserQuery, UserSort, Via,
};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::keymap::{Action, BindingSpec, Context, Key, Press, mutating, spec};
use crate::console::panes::common::call::{call, failure};
use crate::console::panes::common::dialog::{Answer, Ask};
use crate::console::panes::common::fmt::{TimeWidth, short_time};
use crate::console::panes::common::paged::Paged;
use crate::console::panes::common::split::list_and_detail;
use crate::console::panes::{Ctx, Pane, PaneId, PaneMsg, Subject, ViewCtx, table_rows};
use crate::console::widgets::Outcome;
use crate::console::widgets::confirm::Confirm;
use crate::console::widgets::diff::{access_words, diff_lines, diff_summary, kind_words};
use crate::console::widgets::list::{cell_widths, render_list};
use crate::console::widgets::reason::ReasonPrompt;
use crate::console::widgets::{WidgetStyle, truncate};
use crate::domain::approval::{MemberState, RequestState};
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use std::collections::{BTreeMap, HashSet};

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
    spec(
        &[Key::ch('s')],
        Action::CycleState,
        Some("state"),
        "Members in one state: all → active → pending → rejected → deprovisioned → removed",
    ),
    spec(
        &[Key::ch('o')],
        Action::CycleSort,
        Some("sort"),
        "Order the members by the next column: email → name → state → created",
    ),
    spec(
        &[Key::ch('O')],
        Action::FlipSort,
        None,
        "Reverse the members' order",
    ),
    mutating(
        &[Key::ch('x'), Key::code(KeyCode::Delete)],
        Action::RemoveMember,
        Some("remove"),
        "Remove the selected member from the org (asks first)",
    ),
];

const ID: PaneId = PaneId::Users;

impl Pane for UsersPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn input(&self) -> Option<Context> {
        match self.dialog {
            Some(Dialog::Confirm(_)) => Some(Context::Dialog),
            Some(Dialog::Reason { .. }) => Some(Context::Reason),
            None => None,
        }
    }

    fn inner_level(&self) -> bool {
        self.zoomed
    }

    /// The member selected, or the member of the selected request.
    fn subject(&self) -> Option<Subject> {
        let (target, label) = match self.list {
            List::Members => self
                .members
                .current()
                .map(|m| (m.id.clone(), m.email.clone()))?,
            List::Pending => self
                .queue
                .current()
                .map(|r| (r.member_id.clone(), person(r)))?,
        };
        Some(Subject { target, label })
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
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
            PaneMsg::Press(p) => self.on_press(p),
            PaneMsg::Click { row, .. } => {
                let Some(list) = self.areas(cx.body).0 else {
                    return Vec::new();
                };
                let hit = match self.list {
                    List::Members => self.members.click(list, row),
                    List::Pending => self.queue.click(list, row),
                };
                if hit { self.follow() } else { Vec::new() }
            }
            PaneMsg::Action(a) => self.on_action(a, cx),
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let (list_area, detail_area) = self.areas(area);
        if let Some(l) = list_area {
            match self.list {
                List::Members => self.view_members(f, l, vx),
                List::Pending => self.view_queue(f, l, vx),
            }
        }
        self.view_detail(f, detail_area, vx);
        match &self.dialog {
            Some(Dialog::Confirm(ask)) => ask.confirm.render(f, area, &theme.widget_style()),
            Some(Dialog::Reason { prompt, .. }) => prompt.render(f, area, &theme.widget_style()),
            None => {}
        }
    }
}
