//! How the Group Mapping pane answers actions, popup keys and the server's replies.

use super::*;

impl MappingPane {
    // ---- the list ------------------------------------------------------------------------

    pub(super) fn list_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        if self.groups.step(action, table_rows(list_areas(cx.body)[0])) {
            return self.follow();
        }
        match action {
            // On a snapshot Enter says why it opens no editor, rather than nothing.
            Action::Open | Action::EditMapping if cx.read_only => {
                return vec![Toast::error(
                    "read-only: mappings cannot be edited on a snapshot (the detail shows them)",
                )];
            }
            Action::Open | Action::EditMapping => {
                let Some(g) = self.selected_group() else {
                    return Vec::new();
                };
                let target = Target {
                    id: g.id.clone(),
                    name: g.display_name.clone(),
                    members: g.member_count,
                };
                let baseline = g.mapping.as_ref().map(Draft::of);
                return self.open_editor(target, baseline, false, None);
            }
            Action::NewMapping if !cx.read_only => {
                let mut e = Editor::new_for(None, None, true);
                e.focus = 0;
                self.editor = Some(e);
                return self.open_group_dropdown(None);
            }
            Action::DeleteMapping if !cx.read_only => {
                let Some(g) = self.selected_group() else {
                    return Vec::new();
                };
                if g.mapping.is_none() {
                    return vec![Toast::info(format!(
                        "{} has no mapping to delete",
                        g.display_name
                    ))];
                }
                let (id, name, members) = (g.id.clone(), g.display_name.clone(), g.member_count);
                return self.ask_delete(id, name, members);
            }
            _ => {}
        }
        Vec::new()
    }

    /// `draft`: roles already chosen (for another group of a new mapping) to keep.
    pub(super) fn open_editor(
        &mut self,
        target: Target,
        baseline: Option<Draft>,
        is_new: bool,
        draft: Option<Draft>,
    ) -> Vec<Cmd> {
        let group_id = target.id.clone();
        let mut e = Editor::new_for(Some(target), baseline, is_new);
        if let Some(d) = draft {
            e.draft = d;
        }
        self.editor = Some(e);
        let mut out = vec![call(ID, "mapping", Call::Mapping { group_id })];
        out.extend(self.refresh_impact());
        out
    }

    /// The page of groups to prefetch, if the selection nears the end of what is loaded.
    pub(super) fn follow(&mut self) -> Vec<Cmd> {
        self.groups
            .follow()
            .map(|p| self.groups_call(p))
            .into_iter()
            .collect()
    }

    /// Asks the server for the groups matching `typed`, for the group dropdown.
    pub(super) fn choices_call(&self, typed: &str) -> Cmd {
        call(
            ID,
            "choices",
            Call::Groups {
                filter: (!typed.is_empty()).then(|| typed.to_string()),
                page: PageReq::first(PAGE as u32),
            },
        )
    }

    /// The group dropdown, first with the groups the list holds, then with the server's.
    pub(super) fn open_group_dropdown(&mut self, current: Option<&String>) -> Vec<Cmd> {
        if self.choices.is_empty() {
            self.choices = self.groups.rows.clone();
        }
        self.choices_for.clear();
        self.popup = Some(Popup::Group(Dropdown::single(
            "Group to map",
            choice_items(&self.choices),
            current,
        )));
        vec![self.choices_call("")]
    }

    pub(super) fn ask_delete(&mut self, group_id: String, group_name: String, n: u64) -> Vec<Cmd> {
        let message = format!(
            "Delete the mapping of {group_name} ({})? What it grants is taken away at once \
             from members no other group grants it to.",
            members(n)
        );
        self.popup = Some(Popup::Delete(Ask::new(
            Confirm::new("Delete mapping?", message, "Delete").dangerous(),
            group_id.clone(),
        )));
        vec![call(
            ID,
            "delete_preview",
            Call::Preview {
                group_id,
                of: PreviewOf::Delete,
            },
        )]
    }

    // ---- the editor ----------------------------------------------------------------------

    pub(super) fn editor_action(&mut self, action: Action) -> Vec<Cmd> {
        let rows = self.rows();
        let Some(e) = self.editor.as_mut() else {
            return Vec::new();
        };
        let first = e.first_row();
        if let Some(scroll) = self.impact_whole {
            // The impact whole: movement scrolls it, Esc, Enter or `i` comes back.
            self.impact_whole = match action {
                Action::Down => Some(scroll.saturating_add(1)),
                Action::Up => Some(scroll.saturating_sub(1)),
                Action::PageDown | Action::HalfPageDown => Some(scroll.saturating_add(10)),
                Action::PageUp | Action::HalfPageUp => Some(scroll.saturating_sub(10)),
                Action::Top => Some(0),
                Action::Back | Action::Open | Action::Impact => None,
                _ => Some(scroll),
            };
            return Vec::new();
        }
        match action {
            Action::Impact => self.impact_whole = Some(0),
            Action::Up => e.focus = e.focus.saturating_sub(1).max(first),
            Action::Down => e.focus = (e.focus + 1).min(rows - 1),
            Action::Top | Action::PageUp => e.focus = first,
            Action::Bottom | Action::PageDown => e.focus = rows - 1,
            Action::Open | Action::EditMapping => return self.open_row(),
            Action::Save => return self.save(),
            Action::Back => {
                if e.dirty() {
                    self.popup = Some(Popup::Discard(Ask::new(
                        Confirm::new(
                            "Discard unsaved edits?",
                            "The mapping on the server stays as it is.",
                            "Discard",
                        )
                        .dangerous(),
                        (),
                    )));
                } else {
                    self.editor = None;
                    self.impact_whole = None;
                }
            }
            Action::DeleteMapping => {
                if let (Some(t), Some(_)) = (e.group.clone(), e.baseline.as_ref()) {
                    return self.ask_delete(t.id, t.name, t.members);
                }
                return vec![Toast::info("this group has no saved mapping to delete")];
            }
            _ => {}
        }
        Vec::new()
    }

    /// Enter on a row opens its dropdown.
    pub(super) fn open_row(&mut self) -> Vec<Cmd> {
        let Some(e) = &self.editor else {
            return Vec::new();
        };
        match e.focus {
            0 => {
                let cur = e.group.as_ref().map(|t| t.id.clone());
                return self.open_group_dropdown(cur.as_ref());
            }
            _ if e.group.is_none() => return self.open_group_dropdown(None),
            1 => {
                let items = self
                    .mappable_roles()
                    .into_iter()
                    .map(|r| (r.to_string(), r))
                    .collect();
                let title = format!(
                    "Org role for {} (Owner is never mapped)",
                    e.group.as_ref().map_or("", |t| t.name.as_str())
                );
                self.popup = Some(Popup::OrgRole(Dropdown::single(
                    title,
                    items,
                    Some(&e.draft.org_role),
                )));
            }
            i => {
                let Some(stack) = self.stack_list().get(i - 2) else {
                    return Vec::new();
                };
                let items = stack
                    .roles
                    .iter()
                    .map(|r| {
                        let label = if r.builtin {
                            r.name.clone()
                        } else {
                            format!("{} (custom)", r.name)
                        };
                        (label, r.uid.clone())
                    })
                    .collect();
                let ticked = e.draft.roles_on(&stack.uid);
                self.popup = Some(Popup::StackRoles {
                    stack_uid: stack.uid.clone(),
                    list: Dropdown::multi(format!("Roles on {}", stack.name), items, &ticked),
                });
            }
        }
        Vec::new()
    }

    /// Asks for the impact of the current draft, or clears it when there is nothing to save.
    pub(super) fn refresh_impact(&mut self) -> Vec<Cmd> {
        let Some(e) = self.editor.as_mut() else {
            return Vec::new();
        };
        let Some(t) = &e.group else {
            return Vec::new();
        };
        if !e.savable() {
            e.impact = Impact::Unchanged;
            return Vec::new();
        }
        e.impact = Impact::Loading;
        vec![call(
            ID,
            "preview",
            Call::Preview {
                group_id: t.id.clone(),
                of: PreviewOf::Save(e.draft.body()),
            },
        )]
    }

    pub(super) fn save(&mut self) -> Vec<Cmd> {
        let Some(e) = self.editor.as_mut() else {
            return Vec::new();
        };
        let Some(t) = &e.group else {
            return vec![Toast::error(
                "choose a group first (Enter on the Group row)",
            )];
        };
        if !e.savable() {
            return vec![Toast::info(
                "nothing to save: the mapping is as on the server",
            )];
        }
        if e.saving {
            return Vec::new();
        }
        e.saving = true;
        vec![call(
            ID,
            "save",
            Call::PutMapping {
                group_id: t.id.clone(),
                body: e.draft.body(),
            },
        )]
    }

    pub(super) fn choose_group(&mut self, id: &str) -> Vec<Cmd> {
        let Some(g) = self
            .choices
            .iter()
            .chain(&self.groups.rows)
            .find(|g| g.id == id)
        else {
            return Vec::new();
        };
        let target = Target {
            id: g.id.clone(),
            name: g.display_name.clone(),
            members: g.member_count,
        };
        let baseline = g.mapping.as_ref().map(Draft::of);
        // Switching a new mapping to an unmapped group keeps the roles chosen so far; a
        // mapped group starts from its own mapping, so that none is overwritten unseen.
        let carried = self
            .editor
            .as_ref()
            .filter(|e| baseline.is_none() && e.group.is_some() && e.dirty())
            .map(|e| e.draft.clone());
        let mut out = Vec::new();
        if baseline.is_some() && carried.is_none() {
            out.push(Toast::info(format!(
                "{} is mapped already: you are editing its mapping",
                target.name
            )));
        }
        out.extend(self.open_editor(target, baseline, true, carried));
        out
    }

    pub(super) fn on_popup_press(&mut self, press: Press) -> Vec<Cmd> {
        let Some(popup) = self.popup.take() else {
            return Vec::new();
        };
        match popup {
            Popup::Group(mut d) => match d.handle(press) {
                Outcome::Changed if d.query() != self.choices_for => {
                    // What is typed goes to the server: a large org's groups are not all held.
                    self.choices_for = d.query().to_string();
                    let ask = self.choices_call(d.query());
                    self.popup = Some(Popup::Group(d));
                    vec![ask]
                }
                Outcome::Submitted(v) => match v.first() {
                    Some(id) => self.choose_group(id),
                    None => Vec::new(),
                },
                Outcome::Cancelled => {
                    // A new mapping that never got its group is abandoned.
                    if self.editor.as_ref().is_some_and(|e| e.group.is_none()) {
                        self.editor = None;
                        self.impact_whole = None;
                    }
                    Vec::new()
                }
                _ => {
                    self.popup = Some(Popup::Group(d));
                    Vec::new()
                }
            },
            Popup::OrgRole(mut d) => match d.handle(press) {
                Outcome::Submitted(v) => {
                    if let (Some(e), Some(r)) = (self.editor.as_mut(), v.first()) {
                        e.draft.org_role = *r;
                    }
                    self.refresh_impact()
                }
                Outcome::Cancelled => Vec::new(),
                _ => {
                    self.popup = Some(Popup::OrgRole(d));
                    Vec::new()
                }
            },
            Popup::StackRoles {
                stack_uid,
                mut list,
            } => match list.handle(press) {
                Outcome::Submitted(roles) => {
                    if let Some(e) = self.editor.as_mut() {
                        e.draft.set_roles_on(&stack_uid, roles);
                    }
                    self.refresh_impact()
                }
                Outcome::Cancelled => Vec::new(),
                _ => {
                    self.popup = Some(Popup::StackRoles { stack_uid, list });
                    Vec::new()
                }
            },
            Popup::Delete(ask) => match ask.key(press) {
                Answer::Yes(group_id) => vec![call(ID, "delete", Call::DeleteMapping { group_id })],
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.popup = Some(Popup::Delete(ask));
                    Vec::new()
                }
            },
            Popup::Discard(ask) => match ask.key(press) {
                Answer::Yes(()) => {
                    self.editor = None;
                    self.impact_whole = None;
                    Vec::new()
                }
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.popup = Some(Popup::Discard(ask));
                    Vec::new()
                }
            },
        }
    }

    // ---- answers -------------------------------------------------------------------------

    pub(super) fn on_reply(
        &mut self,
        slot: &str,
        call_: Call,
        result: Result<Reply, ApiError>,
    ) -> Vec<Cmd> {
        match result {
            Ok(Reply::Groups(p)) if slot == "choices" => {
                self.choices = p.items;
                if let Some(Popup::Group(d)) = self.popup.as_mut() {
                    d.set_items(choice_items(&self.choices));
                }
                Vec::new()
            }
            Ok(Reply::Groups(p)) => {
                let Call::Groups { page, .. } = call_ else {
                    return Vec::new();
                };
                let Some(k) = self.groups.page_of(&page) else {
                    return Vec::new();
                };
                self.polling = false;
                self.groups.land(k, p);
                self.follow()
            }
            Ok(Reply::Stacks(p)) => {
                self.stacks = Some(p.items);
                if let Some(e) = self.editor.as_mut() {
                    e.focus = e.focus.min(1 + self.stacks.as_ref().map_or(0, Vec::len));
                }
                Vec::new()
            }
            Ok(Reply::Roles(p)) => {
                self.org_roles = Some(p.items);
                Vec::new()
            }
            Ok(Reply::Mapping(m)) => {
                let Call::Mapping { group_id } = call_ else {
                    return Vec::new();
                };
                let Some(e) = self.editor.as_mut() else {
                    return Vec::new();
                };
                if e.group.as_ref().is_none_or(|t| t.id != group_id) {
                    return Vec::new();
                }
                // The server's copy is the baseline; untouched drafts follow it.
                let fresh = m.as_ref().map(Draft::of);
                if !e.dirty() {
                    e.draft = fresh.clone().unwrap_or_default();
                }
                e.baseline = fresh;
                self.refresh_impact()
            }
            Ok(Reply::Preview(p)) => self.on_preview(slot, call_, p),
            Ok(Reply::SavedMapping(s)) => {
                let m = s.mapping;
                if self
                    .editor
                    .as_ref()
                    .and_then(|e| e.group.as_ref())
                    .is_some_and(|t| t.id == m.group_id)
                {
                    self.editor = None;
                    self.impact_whole = None;
                }
                self.groups.prefer = Some(m.group_id.clone());
                // Short enough for an 80-column toast; the list shows the mapping itself.
                let mut text = format!(
                    "{} saved · {} changed",
                    m.group_name,
                    members(s.applied.granted_changes)
                );
                if s.applied.pending_changes > 0 {
                    text.push_str(&format!(
                        " · {} rewritten",
                        plural(s.applied.pending_changes, "request", "requests")
                    ));
                }
                let mut out = vec![Toast::success(text)];
                out.extend(self.groups.restart().map(|p| self.groups_call(p)));
                out
            }
            Ok(Reply::Done) => {
                let Call::DeleteMapping { group_id } = call_ else {
                    return Vec::new();
                };
                let name = self
                    .groups
                    .rows
                    .iter()
                    .find(|g| g.id == group_id)
                    .map_or(group_id.clone(), |g| g.display_name.clone());
                if self
                    .editor
                    .as_ref()
                    .and_then(|e| e.group.as_ref())
                    .is_some_and(|t| t.id == group_id)
                {
                    self.editor = None;
                    self.impact_whole = None;
                }
                let mut out = vec![Toast::success(format!("mapping of {name} deleted"))];
                out.extend(self.groups.reload().map(|p| self.groups_call(p)));
                out
            }
            Ok(r @ (Reply::Stack(_) | Reply::Role(_))) => self.stack_done(&call_, r),
            Ok(_) => Vec::new(),
            Err(e) => match slot {
                "groups" => {
                    self.groups.fetching = None;
                    // A poll tries again later (and the banner tells an unreachable server).
                    if std::mem::take(&mut self.polling) {
                        Vec::new()
                    } else {
                        vec![Toast::error(e.to_string())]
                    }
                }
                "preview" => {
                    if let Some(ed) = self.editor.as_mut()
                        && preview_is_current(ed, &call_)
                    {
                        ed.impact = Impact::Failed(e.to_string());
                    }
                    Vec::new()
                }
                // The confirm keeps its plain words.
                "delete_preview" => Vec::new(),
                "save" => {
                    if let Some(ed) = self.editor.as_mut() {
                        ed.saving = false;
                    }
                    vec![Toast::error(format!("not saved: {e}"))]
                }
                _ => vec![Toast::error(e.to_string())],
            },
        }
    }

    pub(super) fn on_preview(&mut self, slot: &str, call_: Call, p: Preview) -> Vec<Cmd> {
        if slot == "delete_preview" {
            if let Some(Popup::Delete(Ask {
                confirm,
                then: group_id,
            })) = self.popup.as_mut()
                && matches!(&call_, Call::Preview { group_id: g, .. } if g == group_id)
            {
                let said = impact_sentences(&p);
                confirm.message = format!(
                    "{} Impact: {}.",
                    confirm.message.split(" Impact:").next().unwrap_or(""),
                    said.join("; ")
                );
            }
            return Vec::new();
        }
        if let Some(e) = self.editor.as_mut()
            && preview_is_current(e, &call_)
        {
            e.impact = Impact::Ready(p);
        }
        Vec::new()
    }
}

/// Whether a preview answer is about the draft as it is now (an older one may arrive after
/// the draft changed again, when the request could not be cancelled in time).
pub(super) fn preview_is_current(e: &Editor, c: &Call) -> bool {
    match (c, &e.group) {
        (
            Call::Preview {
                group_id,
                of: PreviewOf::Save(body),
            },
            Some(t),
        ) => *group_id == t.id && *body == e.draft.body(),
        _ => false,
    }
}

/// A group as the group dropdown lists it: name, members, whether it is mapped.
pub(super) fn choice_items(groups: &[Group]) -> Vec<(String, String)> {
    groups
        .iter()
        .map(|g| {
            let state = if g.mapping.is_some() {
                "mapped"
            } else {
                "not mapped"
            };
            (
                format!("{} · {} · {state}", g.display_name, members(g.member_count)),
                g.id.clone(),
            )
        })
        .collect()
}
