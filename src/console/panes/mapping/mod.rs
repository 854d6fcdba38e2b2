//! The Group Mapping pane: the org's SCIM groups with their member counts and a summary of
//! what each group's mapping grants, and an editor for one mapping.
//!
//! The editor has a row per choice: the group (a type-to-filter dropdown, for a new mapping),
//! the org role (Admin or Member: Owner is never mapped) and one row per stack whose dropdown
//! ticks zero or more stack roles. After every change the pane asks the server for the impact
//! of saving (`/preview`, one "preview" slot, so a newer question supersedes an older one)
//! and shows it as sentences with counts. Save applies the mapping at once; delete asks first
//! and defaults to Cancel; leaving with unsaved edits (Esc, another pane, quit) asks first.
//!
//! Read-only (a snapshot): the groups and their mappings can be browsed; the editing keys are
//! not bound, and Enter does not open the editor.

mod stacks;
mod state;
#[cfg(test)]
pub(crate) mod tests;
mod update;
mod view;

pub use stacks::StackCommand;
pub use state::*;
pub use view::*;

use crate::client::{
    ApiError, Group, Mapping, MappingBody, OrgRoleInfo, PageReq, Preview, PreviewOf, RoleRef,
    Stack, StackRoleKey, StackRoleRef,
};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::keymap::{Action, BindingSpec, Context, Key, Press, mutating, spec};
use crate::console::panes::common::call::call;
use crate::console::panes::common::dialog::{Answer, Ask};
use crate::console::panes::common::fmt::{TimeWidth, members, plural, short_time};
use crate::console::panes::common::paged::{PAGE, Paged};
use crate::console::panes::{Ctx, Pane, PaneId, PaneMsg, Subject, ViewCtx, table_rows};
use crate::console::theme::Theme;
use crate::console::widgets::confirm::Confirm;
use crate::console::widgets::dropdown::Dropdown;
use crate::console::widgets::list::render_list;
use crate::console::widgets::{Outcome, truncate};
use crate::domain::access::OrgRole;
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use std::collections::BTreeSet;

/// Keys as a k9s or lazygit user expects them: `n` new, Enter (or `e`) edit, `x`/Del delete
/// (k9s' Ctrl-d would clash with half-page down), and Ctrl-s to save as in most editors, with
/// `w` (vim's write) for terminals where Ctrl-s is taken by flow control.
pub const BINDINGS: &[BindingSpec] = &[
    mutating(
        &[Key::ch('n')],
        Action::NewMapping,
        Some("new"),
        "New mapping: pick the group, then its org and stack roles",
    ),
    mutating(
        &[Key::ch('e')],
        Action::EditMapping,
        Some("edit"),
        "Edit the selected group's mapping (Enter too)",
    ),
    mutating(
        &[Key::ch('x'), Key::code(KeyCode::Delete)],
        Action::DeleteMapping,
        Some("delete"),
        "Delete the selected group's mapping (asks first)",
    ),
    spec(
        &[Key::ch('i')],
        Action::Impact,
        None,
        "The impact of saving, whole (in the editor; Esc comes back)",
    ),
    mutating(
        &[Key::ctrl('s'), Key::ch('w')],
        Action::Save,
        Some("save"),
        "Save the mapping being edited (its impact preview shows first)",
    ),
];

/// The hint bar while the editor is open (the list's new, edit and delete do not apply).
/// Most needed first: at 80 columns the last ones may not fit.
const EDITOR_HINTS: &[(Action, &str)] = &[
    (Action::Down, "next field"),
    (Action::Open, "choose"),
    (Action::Save, "save"),
    (Action::Back, "close"),
    (Action::Impact, "impact whole"),
    (Action::DeleteMapping, "delete mapping"),
    (Action::Up, "previous field"),
];

/// The hint bar while the impact is shown whole.
const IMPACT_HINTS: &[(Action, &str)] = &[(Action::Down, "scroll"), (Action::Back, "back")];

const ID: PaneId = PaneId::Mapping;

impl Pane for MappingPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn input(&self) -> Option<Context> {
        match self.popup.as_ref()? {
            Popup::Group(_) | Popup::OrgRole(_) | Popup::StackRoles { .. } => {
                Some(Context::Dropdown)
            }
            Popup::Delete(_) | Popup::Discard(_) => Some(Context::Dialog),
        }
    }

    fn dirty(&self) -> bool {
        self.editor.as_ref().is_some_and(Editor::dirty)
    }

    fn hints(&self) -> Option<&'static [(Action, &'static str)]> {
        if self.impact_whole.is_some() {
            return Some(IMPACT_HINTS);
        }
        (self.editor.is_some() && self.popup.is_none()).then_some(EDITOR_HINTS)
    }

    fn inner_level(&self) -> bool {
        self.editor.is_some()
    }

    /// The group being edited, or the one selected: its SCIM writes and its mapping's.
    fn subject(&self) -> Option<Subject> {
        let (id, name) = match self.editor.as_ref() {
            Some(e) => e.group.as_ref().map(|g| (g.id.clone(), g.name.clone()))?,
            None => self
                .groups
                .current()
                .map(|g| (g.id.clone(), g.display_name.clone()))?,
        };
        Some(Subject {
            target: id,
            label: format!("group {name}"),
        })
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
        match msg {
            PaneMsg::Activated if !self.groups.loaded && self.groups.fetching.is_none() => {
                self.load()
            }
            PaneMsg::Activated => Vec::new(),
            // The list follows the server (new groups, member counts) while nothing is being
            // edited and no load is under way; the selection stays on its group.
            PaneMsg::Poll => {
                if self.editor.is_some()
                    || self.popup.is_some()
                    || !self.groups.loaded
                    || self.groups.fetching.is_some()
                {
                    return Vec::new();
                }
                self.polling = true;
                self.groups
                    .reload()
                    .map(|p| self.groups_call(p))
                    .into_iter()
                    .collect()
            }
            PaneMsg::Refresh => {
                self.polling = false;
                let mut out = self.load();
                // The saved copy may have moved on; its answer asks a new preview.
                if let Some(t) = self.editor.as_ref().and_then(|e| e.group.as_ref()) {
                    out.push(call(
                        ID,
                        "mapping",
                        Call::Mapping {
                            group_id: t.id.clone(),
                        },
                    ));
                }
                out
            }
            PaneMsg::Filter(f) => {
                self.filter = f;
                self.polling = false;
                self.groups.reset();
                self.groups
                    .want(0)
                    .map(|p| self.groups_call(p))
                    .into_iter()
                    .collect()
            }
            PaneMsg::Press(p) => self.on_popup_press(p),
            PaneMsg::Click { row, .. } if self.editor.is_none() => {
                if self.groups.click(list_areas(cx.body)[0], row) {
                    self.follow()
                } else {
                    Vec::new()
                }
            }
            PaneMsg::Click { .. } => Vec::new(),
            PaneMsg::Action(a) if self.editor.is_some() => self.editor_action(a),
            PaneMsg::Action(a) => self.list_action(a, cx),
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        if let Some(e) = &self.editor {
            self.view_editor(f, area, e, vx);
            if let Some(scroll) = self.impact_whole {
                view_impact_whole(f, area, e, scroll, theme);
            }
        } else {
            let [list, detail] = list_areas(area);
            self.view_list(f, list, vx);
            self.view_detail(f, detail, vx);
        }
        let style = theme.widget_style();
        match &self.popup {
            None => {}
            Some(Popup::Group(d)) => d.render(f, area, &style),
            Some(Popup::OrgRole(d)) => d.render(f, area, &style),
            Some(Popup::StackRoles { list, .. }) => list.render(f, area, &style),
            Some(Popup::Delete(ask)) => ask.confirm.render(f, area, &style),
            Some(Popup::Discard(ask)) => ask.confirm.render(f, area, &style),
        }
    }
}
