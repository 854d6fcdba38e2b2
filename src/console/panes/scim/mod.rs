//! The SCIM pane: the org's SCIM switch, the URL to give the IdP, SCIM tokens, the SSO role
//! mapping flag with its warning, the approval policy, and a ServiceProviderConfig summary.

mod state;
#[cfg(test)]
mod tests;
mod update;
mod view;

pub use state::*;
use view::*;

use crate::client::{IssuedToken, ScimSettings, ScimSettingsPatch, ScimToken};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::keymap::{Action, BindingSpec, Context, Key, Press, mutating, spec};
use crate::console::panes::common::call::call;
use crate::console::panes::common::dialog::{Answer, Ask};
use crate::console::panes::common::fmt::{TimeWidth, short_time};
use crate::console::panes::common::paged::Paged;
use crate::console::panes::{Ctx, Pane, PaneId, PaneMsg, ViewCtx, table_rows};
use crate::console::theme::Theme;
use crate::console::views::centered;
use crate::console::widgets::confirm::Confirm;
use crate::console::widgets::line::LineEdit;
use crate::console::widgets::list::render_list;
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Wrap};
use serde_json::Value;

pub const BINDINGS: &[BindingSpec] = &[
    // `e` as in the Group Mapping pane: edit. The switches sit behind one dialog so that no
    // key of another pane (`p`, `s` in Users) flips a policy here.
    mutating(
        &[Key::ch('e')],
        Action::Settings,
        Some("settings"),
        "Settings: SCIM, SSO role mapping, approval policy (what widens access asks first)",
    ),
    spec(
        &[Key::ch('y')],
        Action::CopyScimUrl,
        Some("copy URL"),
        "Copy the SCIM URL (OSC 52: works over SSH)",
    ),
    mutating(
        &[Key::ch('n')],
        Action::NewToken,
        Some("new token"),
        "Create a SCIM token (its secret is shown once)",
    ),
    mutating(
        &[Key::ch('x'), Key::code(KeyCode::Delete)],
        Action::RevokeToken,
        Some("revoke"),
        "Revoke the selected token (asks first)",
    ),
];

/// The hint bar while the refusals are shown whole.
const WHOLE_HINTS: &[(Action, &str)] = &[(Action::Down, "scroll"), (Action::Back, "back")];

const ID: PaneId = PaneId::Scim;

impl ScimPane {
    /// [`areas`] for the settings on screen (their warnings take rows).
    pub(super) fn areas(&self, area: Rect) -> [Rect; 5] {
        let warnings: Vec<String> = self
            .settings
            .iter()
            .flat_map(|s| s.warnings.iter().map(|w| w.message.clone()))
            .collect();
        areas(area, &warnings)
    }
}

impl Pane for ScimPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn inner_level(&self) -> bool {
        self.refusals_open
    }

    /// While the refusals are shown whole only their keys work: the bar says which.
    fn hints(&self) -> Option<&'static [(Action, &'static str)]> {
        self.refusals_open.then_some(WHOLE_HINTS)
    }

    /// The selected token: when it was created and revoked, and by whom.
    fn subject(&self) -> Option<crate::console::panes::Subject> {
        self.tokens
            .current()
            .map(|t| crate::console::panes::Subject {
                target: t.id.clone(),
                label: format!("token {}", t.label),
            })
    }

    fn input(&self) -> Option<Context> {
        match self.dialog.as_ref()? {
            Dialog::Confirm(_) => Some(Context::Dialog),
            Dialog::NewToken { .. } => Some(Context::Field),
            Dialog::Secret(_) => Some(Context::Secret),
            Dialog::Settings { .. } => Some(Context::Settings),
        }
    }

    #[cfg(test)]
    fn dirty(&self) -> bool {
        self.test_dirty
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
        if self.ctx_url != cx.scim_url {
            self.ctx_url = cx.scim_url.clone();
        }
        match msg {
            PaneMsg::Activated if self.settings.is_none() => self.load(),
            // The 5 s poll, as in the other panes: what the IdP did since (last use, counts,
            // refusals), without a Ctrl-r.
            PaneMsg::Poll if self.settings.is_some() => self.poll(),
            PaneMsg::Activated | PaneMsg::Poll | PaneMsg::Filter(_) => Vec::new(),
            PaneMsg::Refresh => self.load(),
            PaneMsg::Press(p) => self.on_press(p),
            PaneMsg::Click { row, .. } => {
                self.tokens.click(self.areas(cx.body)[3], row);
                Vec::new()
            }
            PaneMsg::Action(a) => self.on_action(a, cx),
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, vx: &ViewCtx) {
        let theme = &vx.theme;
        let [settings, spc, url, tokens, refusals] = self.areas(area);
        self.view_settings(f, settings, vx);
        self.view_spc(f, spc, vx);
        self.view_url(f, url, vx);
        self.view_tokens(f, tokens, vx);
        self.view_refusals(f, refusals, vx);
        if self.refusals_open {
            self.view_refusals_whole(f, area, vx);
        }
        if let Some(d) = &self.dialog {
            view_dialog(f, area, d, self.settings.as_ref(), theme);
        }
    }
}
