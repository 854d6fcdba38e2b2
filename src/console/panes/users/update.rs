//! How the Users pane answers actions, dialog keys and the server's replies.

use super::*;

impl UsersPane {
    pub(super) fn members_call(&self, page: PageReq) -> Cmd {
        call(
            ID,
            "list",
            Call::Users(UserQuery {
                filter: (!self.filter.is_empty()).then(|| self.filter.clone()),
                state: self.state_filter,
                sort: (self.sort != UserSort::Email).then_some(self.sort),
                desc: self.desc,
                page,
            }),
        )
    }

    pub(super) fn queue_call(page: PageReq) -> Cmd {
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
    pub(super) fn follow(&mut self) -> Vec<Cmd> {
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

    pub(super) fn load_all(&mut self) -> Vec<Cmd> {
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

    pub(super) fn on_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        let page = self.page(cx.body);
        let moved = match self.list {
            List::Members => self.members.step(action, page),
            List::Pending => self.queue.step(action, page),
        };
        if moved {
            return self.follow();
        }
        match action {
            Action::Open => self.zoomed = !self.zoomed,
            Action::Back => self.zoomed = false,
            Action::SwitchList => {
                self.list = match self.list {
                    List::Members => List::Pending,
                    List::Pending => List::Members,
                };
                self.zoomed = false;
            }
            Action::CycleState => return self.cycle_state(),
            Action::CycleSort => {
                let at = SORT_CYCLE.iter().position(|s| *s == self.sort).unwrap_or(0);
                self.sort = SORT_CYCLE[(at + 1) % SORT_CYCLE.len()];
                return self.restart_members();
            }
            Action::FlipSort => {
                self.desc = !self.desc;
                return self.restart_members();
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

    /// `s`: the next state of [`STATE_CYCLE`]; the Members list starts over from the server.
    pub(super) fn cycle_state(&mut self) -> Vec<Cmd> {
        let at = STATE_CYCLE
            .iter()
            .position(|s| *s == self.state_filter)
            .unwrap_or(0);
        self.state_filter = STATE_CYCLE[(at + 1) % STATE_CYCLE.len()];
        self.restart_members()
    }

    /// The Members list from its first page, in the state and order now chosen.
    pub(super) fn restart_members(&mut self) -> Vec<Cmd> {
        self.list = List::Members;
        self.zoomed = false;
        self.members.reset();
        let mut out = Vec::new();
        if let Some(p) = self.members.want(0) {
            out.push(self.members_call(p));
        }
        out
    }

    pub(super) fn approve_selected(&mut self) -> Vec<Cmd> {
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

    pub(super) fn no_request_hint(&self) -> &'static str {
        match self.list {
            List::Members => "this member has no pending request (p shows the queue)",
            List::Pending => "the queue is empty",
        }
    }

    pub(super) fn reject_selected(&mut self) -> Vec<Cmd> {
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

    pub(super) fn mark_selected(&mut self, page: usize) -> Vec<Cmd> {
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

    pub(super) fn ask_bulk(&mut self) -> Vec<Cmd> {
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
        // Who: the first few by name, and how many more.
        const NAMED: usize = 3;
        let mut names: Vec<String> = self
            .marked
            .keys()
            .take(NAMED)
            .map(|id| {
                self.queue
                    .rows
                    .iter()
                    .find(|r| &r.id == id)
                    .map(person)
                    .unwrap_or_else(|| format!("request {id}"))
            })
            .collect();
        if n > NAMED {
            names.push(format!("{} more", n - NAMED));
        }
        let who = match names.len() {
            1 => names[0].clone(),
            _ => {
                let last = names.pop().unwrap_or_default();
                format!("{} and {last}", names.join(", "))
            }
        };
        let confirm = Confirm::new(
            "Approve marked",
            format!(
                "Approve {n} pending {what} ({who})? Each applies the diff shown when it was \
                 marked; one that changed since is refused."
            ),
            format!("Approve {n}"),
        );
        let then = Then::ApproveMarked(self.marked.iter().map(|(k, v)| (k.clone(), *v)).collect());
        self.dialog = Some(Dialog::Confirm(Ask::new(confirm, then)));
        Vec::new()
    }

    pub(super) fn ask_remove(&mut self) -> Vec<Cmd> {
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

    pub(super) fn current_member_for_removal(&self) -> Option<Member> {
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

    pub(super) fn on_press(&mut self, press: Press) -> Vec<Cmd> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match dialog {
            Dialog::Confirm(ask) => match ask.key(press) {
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
            } => match prompt.handle(press) {
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

    pub(super) fn confirmed(&mut self, then: Then) -> Vec<Cmd> {
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
    pub(super) fn replace_member(&mut self, m: &Member) {
        if let Some(row) = self.members.rows.iter_mut().find(|x| x.id == m.id) {
            *row = m.clone();
        }
        if let Some(d) = &mut self.detail
            && d.member.id == m.id
        {
            d.member = m.clone();
        }
    }

    pub(super) fn land_queue(&mut self, k: usize, page: Page<ApprovalRequest>) {
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

    pub(super) fn on_reply(
        &mut self,
        slot: &str,
        call_: Call,
        result: Result<Reply, ApiError>,
    ) -> Vec<Cmd> {
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

    pub(super) fn decided(&mut self, d: crate::client::Decision) -> Vec<Cmd> {
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

    pub(super) fn decide_failed(&mut self, c: &Call, e: ApiError) -> Vec<Cmd> {
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
    pub(super) fn bulk_step(&mut self) -> Vec<Cmd> {
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
