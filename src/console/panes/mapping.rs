//! The Group Mapping pane (owned by console2). Placeholder from the skeleton: lists SCIM
//! groups so the console runs end to end; the groups table and the editor replace it.

use super::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::{Group, PageReq};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::keymap::{Action, BindingSpec};
use crate::console::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

pub const BINDINGS: &[BindingSpec] = &[];

#[derive(Debug, Default)]
pub struct MappingPane {
    pub groups: Option<Vec<Group>>,
    pub selected: usize,
    filter: String,
}

impl MappingPane {
    fn load(&self) -> Vec<Cmd> {
        vec![Cmd::Call {
            pane: PaneId::Mapping,
            slot: "groups",
            call: Call::Groups {
                filter: (!self.filter.is_empty()).then(|| self.filter.clone()),
                page: PageReq::first(200),
            },
        }]
    }
}

impl Pane for MappingPane {
    fn id(&self) -> PaneId {
        PaneId::Mapping
    }

    fn update(&mut self, msg: PaneMsg, _cx: &Ctx) -> Vec<Cmd> {
        match msg {
            PaneMsg::Activated if self.groups.is_none() => self.load(),
            PaneMsg::Refresh => self.load(),
            PaneMsg::Filter(f) => {
                self.filter = f;
                self.load()
            }
            PaneMsg::Action(Action::Down) => {
                let n = self.groups.as_ref().map_or(0, Vec::len);
                self.selected = (self.selected + 1).min(n.saturating_sub(1));
                Vec::new()
            }
            PaneMsg::Action(Action::Up) => {
                self.selected = self.selected.saturating_sub(1);
                Vec::new()
            }
            PaneMsg::Reply { result, .. } => match result {
                Ok(Reply::Groups(page)) => {
                    self.selected = self.selected.min(page.items.len().saturating_sub(1));
                    self.groups = Some(page.items);
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
            .title(" SCIM groups ");
        let lines: Vec<Line> = match &self.groups {
            None => vec![Line::from("loading…")],
            Some(gs) => gs
                .iter()
                .enumerate()
                .take(area.height.saturating_sub(2) as usize)
                .map(|(i, g)| {
                    let marker = if i == self.selected { "▶ " } else { "  " };
                    let mapping = match &g.mapping {
                        Some(m) => format!(
                            "{} + {} stack roles",
                            m.org_role.as_str(),
                            m.stack_roles.len()
                        ),
                        None => "not mapped".into(),
                    };
                    Line::from(format!(
                        "{marker}{:<30} {:>5} members  {mapping}",
                        g.display_name, g.member_count
                    ))
                })
                .collect(),
        };
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
