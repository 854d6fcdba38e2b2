//! The SCIM pane: the org's SCIM switch, URL, tokens, SSO role mapping and approval policy.

use super::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::ScimSettings;
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::keymap::BindingSpec;
use crate::console::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

pub const BINDINGS: &[BindingSpec] = &[];

#[derive(Debug, Default)]
pub struct ScimPane {
    pub settings: Option<ScimSettings>,
}

impl ScimPane {
    fn load(&self) -> Vec<Cmd> {
        vec![Cmd::Call {
            pane: PaneId::Scim,
            slot: "settings",
            call: Call::ScimSettings,
        }]
    }
}

impl Pane for ScimPane {
    fn id(&self) -> PaneId {
        PaneId::Scim
    }

    fn update(&mut self, msg: PaneMsg, _cx: &Ctx) -> Vec<Cmd> {
        match msg {
            PaneMsg::Activated if self.settings.is_none() => self.load(),
            PaneMsg::Refresh => self.load(),
            PaneMsg::Reply { result, .. } => match result {
                Ok(Reply::ScimSettings(s)) => {
                    self.settings = Some(s);
                    Vec::new()
                }
                Ok(_) => Vec::new(),
                Err(e) => vec![Toast::error(e.to_string())],
            },
            _ => Vec::new(),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(" SCIM ");
        let lines = match &self.settings {
            None => vec![Line::from("loading…")],
            Some(s) => vec![Line::from(format!(
                "SCIM: {}",
                if s.enabled {
                    "● enabled"
                } else {
                    "○ disabled"
                }
            ))],
        };
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
