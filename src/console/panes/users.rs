//! The Users pane (owned by console2). Placeholder from the skeleton: lists members so the
//! console runs end to end; the members table, detail panel and approval queue replace it.

use super::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::{Member, PageReq, UserQuery};
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
pub struct UsersPane {
    pub members: Option<Vec<Member>>,
    pub total: u64,
    pub selected: usize,
    filter: String,
}

impl UsersPane {
    fn load(&self) -> Vec<Cmd> {
        vec![Cmd::Call {
            pane: PaneId::Users,
            slot: "list",
            call: Call::Users(UserQuery {
                filter: (!self.filter.is_empty()).then(|| self.filter.clone()),
                state: None,
                page: PageReq::first(200),
            }),
        }]
    }
}

impl Pane for UsersPane {
    fn id(&self) -> PaneId {
        PaneId::Users
    }

    fn update(&mut self, msg: PaneMsg, _cx: &Ctx) -> Vec<Cmd> {
        match msg {
            PaneMsg::Activated if self.members.is_none() => self.load(),
            PaneMsg::Refresh => self.load(),
            PaneMsg::Filter(f) => {
                self.filter = f;
                self.load()
            }
            PaneMsg::Action(Action::Down) => {
                let n = self.members.as_ref().map_or(0, Vec::len);
                self.selected = (self.selected + 1).min(n.saturating_sub(1));
                Vec::new()
            }
            PaneMsg::Action(Action::Up) => {
                self.selected = self.selected.saturating_sub(1);
                Vec::new()
            }
            PaneMsg::Reply { result, .. } => match result {
                Ok(Reply::Users(page)) => {
                    self.total = page.total;
                    self.selected = self.selected.min(page.items.len().saturating_sub(1));
                    self.members = Some(page.items);
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
            .title(format!(" Members ({}) ", self.total));
        let lines: Vec<Line> = match &self.members {
            None => vec![Line::from("loading…")],
            Some(ms) => ms
                .iter()
                .enumerate()
                .skip(
                    self.selected
                        .saturating_sub(area.height.saturating_sub(3) as usize),
                )
                .take(area.height.saturating_sub(2) as usize)
                .map(|(i, m)| {
                    let marker = if i == self.selected { "▶ " } else { "  " };
                    let line = Line::from(format!(
                        "{marker}{:<28} {:<24} {:?}",
                        m.email,
                        m.display_name.as_deref().unwrap_or(""),
                        m.state
                    ));
                    if i == self.selected {
                        line.style(theme.selected)
                    } else {
                        line
                    }
                })
                .collect(),
        };
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
