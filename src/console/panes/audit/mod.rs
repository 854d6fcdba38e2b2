//! The Audit pane: every audit event of the org, newest first, paged from the server and
//! followed on the poll; the `/` filter narrows it by actor, action, target and time (see
//! [`query`]); the detail says what the event changed, path by path; `H` (everywhere) opens
//! the history of the member, group or event selected.

mod query;
mod state;
#[cfg(test)]
mod tests;
mod update;
mod view;
mod words;

pub use query::{AuditFilter, FAMILIES, history};
pub use state::*;
pub use words::{Names, event_words};

use crate::client::{ApiError, AuditEvent, AuditQuery, PageReq};
use crate::console::app::Cmd;
use crate::console::backend::{Call, Reply};
use crate::console::keymap::{Action, BindingSpec, Key, spec};
use crate::console::panes::common::call::{call, failure};
use crate::console::panes::common::fmt::{TimeWidth, short_time, truncate};
use crate::console::panes::common::paged::Paged;
use crate::console::panes::common::split::list_and_detail;
use crate::console::panes::{Ctx, Pane, PaneId, PaneMsg, Subject, ViewCtx, table_rows};
use crate::console::widgets::list::{cell_widths, render_list};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The pane's own key: `u`, the event's raw fields with their uids (and back). Enter (open)
/// shows an event whole, `H` (everywhere) a history, `/` filters; the list moves as every
/// list does.
pub const BINDINGS: &[BindingSpec] = &[spec(
    &[Key::ch('u')],
    Action::ShowIds,
    Some("uids"),
    "The event's raw fields with their uids, or back to names",
)];

const ID: PaneId = PaneId::Audit;

impl Pane for AuditPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
        match msg {
            PaneMsg::Activated => {
                let mut out = self.names_call();
                if !self.events.loaded {
                    out.extend(self.fetch(|p| p.want(0)));
                }
                out
            }
            PaneMsg::Refresh => {
                let mut out = self.fetch(Paged::reload);
                out.push(call(ID, "stacks", Call::Stacks(PageReq::first(200))));
                out
            }
            // Live: the page on screen follows the server, the selection stays on its event.
            PaneMsg::Poll if self.events.loaded && self.events.fetching.is_none() => {
                self.fetch(Paged::reload)
            }
            PaneMsg::Poll => Vec::new(),
            PaneMsg::Filter(f) => self.set_filter(f),
            PaneMsg::Action(a) => self.on_action(a, cx),
            PaneMsg::Press(_) => Vec::new(),
            PaneMsg::Click { row, .. } => {
                let Some(list) = self.areas(cx.body).0 else {
                    return Vec::new();
                };
                if self.events.click(list, row) {
                    self.scroll = 0;
                    self.follow()
                } else {
                    Vec::new()
                }
            }
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let (list, detail) = self.areas(area);
        if let Some(l) = list {
            self.view_list(f, l, vx);
        }
        self.view_detail(f, detail, vx);
    }

    fn inner_level(&self) -> bool {
        self.zoomed
    }

    fn subject(&self) -> Option<Subject> {
        AuditPane::subject(self)
    }
}
