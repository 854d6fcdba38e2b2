//! How the Audit pane answers the filter, movement and the server's pages.

use super::*;

impl AuditPane {
    /// The stacks, for their names in the detail: once.
    pub(super) fn names_call(&mut self) -> Vec<Cmd> {
        if std::mem::replace(&mut self.names_asked, true) {
            return Vec::new();
        }
        vec![call(ID, "stacks", Call::Stacks(PageReq::first(200)))]
    }

    /// The call for page `p` of the log as the filter narrows it.
    fn audit_call(&self, page: PageReq) -> Option<Cmd> {
        let f = self.query.as_ref().ok()?;
        Some(call(
            ID,
            "list",
            Call::Audit(AuditQuery {
                actor: f.actor.clone(),
                action: f.action.clone(),
                target: f.target.clone(),
                since: f.since.clone(),
                until: f.until.clone(),
                page,
            }),
        ))
    }

    /// Asks for the page `pick` chooses, while the filter can be asked.
    pub(super) fn fetch(
        &mut self,
        pick: impl FnOnce(&mut Paged<AuditEvent>) -> Option<PageReq>,
    ) -> Vec<Cmd> {
        if self.query.is_err() {
            return Vec::new();
        }
        pick(&mut self.events)
            .and_then(|p| self.audit_call(p))
            .into_iter()
            .collect()
    }

    /// A new filter: the list starts over from the newest event that matches. While the
    /// filter cannot be asked yet (a date half typed), the rows stay and the title says why.
    pub(super) fn set_filter(&mut self, text: String) -> Vec<Cmd> {
        self.filter = text;
        self.query = query::parse(&self.filter);
        if self.query.is_err() {
            return Vec::new();
        }
        self.events.reset();
        self.zoomed = false;
        self.scroll = 0;
        self.fetch(|p| p.want(0))
    }

    pub(super) fn follow(&mut self) -> Vec<Cmd> {
        self.fetch(Paged::follow)
    }

    pub(super) fn on_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        if action == Action::ShowIds {
            self.raw = !self.raw;
            return Vec::new();
        }
        if self.zoomed {
            // The whole event on screen: movement scrolls it.
            match action {
                Action::Down => self.scroll = self.scroll.saturating_add(1),
                Action::Up => self.scroll = self.scroll.saturating_sub(1),
                Action::PageDown | Action::HalfPageDown => {
                    self.scroll = self.scroll.saturating_add(cx.body.height / 2)
                }
                Action::PageUp | Action::HalfPageUp => {
                    self.scroll = self.scroll.saturating_sub(cx.body.height / 2)
                }
                Action::Top => self.scroll = 0,
                Action::Open | Action::Back => {
                    self.zoomed = false;
                    self.scroll = 0;
                }
                _ => {}
            }
            return Vec::new();
        }
        let page = self.areas(cx.body).0.map_or(1, table_rows);
        if self.events.step(action, page) {
            return self.follow();
        }
        if action == Action::Open && self.selected().is_some() {
            self.zoomed = true;
            self.scroll = 0;
        }
        Vec::new()
    }

    pub(super) fn on_reply(
        &mut self,
        slot: &str,
        call_: Call,
        result: Result<Reply, ApiError>,
    ) -> Vec<Cmd> {
        match result {
            Ok(Reply::Audit(page)) => {
                let Call::Audit(q) = &call_ else {
                    return Vec::new();
                };
                let Some(k) = self.events.page_of(&q.page) else {
                    return Vec::new();
                };
                self.error = None;
                self.events.land(k, page);
                self.follow()
            }
            Ok(Reply::Stacks(page)) => {
                self.names.learn(&page.items);
                Vec::new()
            }
            Ok(_) => Vec::new(),
            // Without the stacks' names the detail shows their uids.
            Err(_) if slot == "stacks" => Vec::new(),
            Err(e) => {
                self.events.fetching = None;
                self.error = Some(e.to_string());
                failure(&e)
            }
        }
    }
}
