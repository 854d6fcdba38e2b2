//! How the SCIM pane answers actions, dialog keys and the server's replies.

use super::*;

impl ScimPane {
    pub(super) fn load(&mut self) -> Vec<Cmd> {
        let mut out = vec![call(ID, "settings", Call::ScimSettings)];
        out.extend(self.tokens_reload());
        out.push(call(ID, "spc", Call::ServiceProviderConfig));
        out.push(call(ID, "activity", Call::ScimActivity));
        out
    }

    /// What the poll asks again: the tokens' page (last use) and the IdP activity.
    pub(super) fn poll(&mut self) -> Vec<Cmd> {
        let mut out: Vec<Cmd> = self.tokens_reload().into_iter().collect();
        out.push(call(ID, "activity", Call::ScimActivity));
        out
    }

    /// The page of tokens holding the selection, again.
    pub(super) fn tokens_reload(&mut self) -> Option<Cmd> {
        let p = self.tokens.reload()?;
        Some(call(ID, "tokens", Call::ScimTokens(p)))
    }

    pub(super) fn patch(p: ScimSettingsPatch) -> Cmd {
        call(ID, "patch", Call::PatchScim(p))
    }

    pub(super) fn selected_token(&self) -> Option<&ScimToken> {
        self.tokens.current()
    }

    pub(super) fn on_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        if self.refusals_open {
            // The refusals whole: movement scrolls them, Enter or Esc comes back.
            match action {
                Action::Down => self.refusals_scroll = self.refusals_scroll.saturating_add(1),
                Action::Up => self.refusals_scroll = self.refusals_scroll.saturating_sub(1),
                Action::Top => self.refusals_scroll = 0,
                Action::Open | Action::Back => {
                    self.refusals_open = false;
                    self.refusals_scroll = 0;
                }
                _ => {}
            }
            return Vec::new();
        }
        if self.tokens.step(action, table_rows(self.areas(cx.body)[3])) {
            return self
                .tokens
                .follow()
                .map(|p| call(ID, "tokens", Call::ScimTokens(p)))
                .into_iter()
                .collect();
        }
        match action {
            Action::Open if self.selected_token().is_some() => {
                self.refusals_open = true;
                self.refusals_scroll = 0;
            }
            Action::CopyScimUrl => {
                let url = self.scim_url(cx);
                if url.is_empty() {
                    return vec![Toast::error(if cx.read_only {
                        "the SCIM URL is not in the snapshot: nothing copied"
                    } else {
                        "the SCIM URL is not known yet: nothing copied"
                    })];
                }
                return vec![Cmd::Copy(url), Toast::success("SCIM URL copied (OSC 52)")];
            }
            Action::Settings => {
                if self.settings.is_none() {
                    return vec![Toast::info("the settings are still loading")];
                }
                self.dialog = Some(Dialog::Settings { selected: 0 });
            }
            Action::NewToken => {
                self.dialog = Some(Dialog::NewToken {
                    label: LineEdit::default(),
                })
            }
            Action::RevokeToken => {
                if let Some(t) = self.selected_token() {
                    let msg = format!(
                        "Token '{}': an IdP that uses it is refused from its next request.",
                        t.label
                    );
                    self.dialog = Some(Dialog::Confirm(Ask::new(
                        Confirm::new("Revoke this SCIM token?", msg, "Revoke").dangerous(),
                        Pending::Revoke {
                            id: t.id.clone(),
                            label: t.label.clone(),
                        },
                    )));
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Switching `setting` from the settings dialog (on row `row`): what widens access or
    /// stops a review asks first, on a dialog that starts on Cancel and says what happens from
    /// now on; disabling SCIM asks too (the IdP's deprovisioning stops with it); the rest
    /// applies at once and the dialog stays.
    pub(super) fn switch(&mut self, setting: Setting, row: usize) -> Vec<Cmd> {
        let Some(s) = &self.settings else {
            return Vec::new();
        };
        let to = !setting.get(s);
        let ask = |title: &str, text: String, verb: &str| {
            Dialog::Confirm(Ask::new(
                Confirm::new(title, text, verb).dangerous(),
                Pending::Set(setting, to),
            ))
        };
        let dialog = match (setting, to) {
            (Setting::Enabled, true) => ask(
                "Enable SCIM?",
                "From now on the IdP may create, change and deprovision members of this org \
                 (as the approval policy allows)."
                    .into(),
                "Enable",
            ),
            (Setting::Enabled, false) => ask(
                "Disable SCIM?",
                "From now on the IdP's requests are refused (403), deprovisioning included, \
                 until SCIM is enabled again. Members and their access stay as they are."
                    .into(),
                "Disable",
            ),
            (Setting::SsoRoleMapping, true) => {
                let mut text = "From now on the IdP's SSO assertion may set members' roles \
                                at sign-in, beside the group mappings."
                    .to_string();
                if s.enabled {
                    text.push_str(
                        " ⚠ SCIM is on: SCIM groups already assign roles, and the two will \
                         fight. Keeping SSO role mapping off is recommended.",
                    );
                }
                ask("Turn SSO role mapping on?", text, "Turn on")
            }
            (Setting::ApproveProvision, false) => ask(
                "Stop approving new members?",
                "From now on a member the IdP creates is active at once, with the roles its \
                 groups map to: nothing waits in the Pending queue for a review."
                    .into(),
                "Stop approving",
            ),
            (Setting::ApproveAccessIncrease, false) => ask(
                "Stop approving access increases?",
                "From now on an IdP group change that raises a member's roles applies at once: \
                 nothing waits in the Pending queue for a review."
                    .into(),
                "Stop approving",
            ),
            (Setting::ApproveDeprovision, false) => ask(
                "Stop approving deprovisioning?",
                "From now on the IdP's deprovisioning takes a member's access away at once: \
                 nothing waits in the Pending queue for a review."
                    .into(),
                "Stop approving",
            ),
            _ => {
                self.dialog = Some(Dialog::Settings { selected: row });
                return vec![Self::patch(setting.patch(to))];
            }
        };
        self.settings_row = row;
        self.dialog = Some(dialog);
        Vec::new()
    }

    pub(super) fn scim_url(&self, cx: &Ctx) -> String {
        self.settings
            .as_ref()
            .and_then(|s| s.scim_url.clone())
            .unwrap_or_else(|| cx.scim_url.clone())
    }

    /// The URL the pane shows: the server's word, else the console's.
    pub(super) fn shown_url(&self) -> &str {
        self.settings
            .as_ref()
            .and_then(|s| s.scim_url.as_deref())
            .unwrap_or(&self.ctx_url)
    }

    pub(super) fn on_press(&mut self, press: Press) -> Vec<Cmd> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        let ask_then = match &dialog {
            Dialog::Confirm(ask) => Some(ask.then.clone()),
            _ => None,
        };
        match dialog {
            Dialog::Settings { selected } => {
                let last = Setting::ALL.len() - 1;
                let selected = match press {
                    Press::Act(Action::Back) => return Vec::new(),
                    Press::Act(Action::Open) => {
                        return self.switch(Setting::ALL[selected], selected);
                    }
                    Press::Act(Action::Down) => (selected + 1).min(last),
                    Press::Act(Action::Up) => selected.saturating_sub(1),
                    _ => selected,
                };
                self.dialog = Some(Dialog::Settings { selected });
                Vec::new()
            }
            Dialog::Confirm(ask) => match ask.key(press) {
                Answer::Yes(then) => self.confirmed(then),
                // Back to the settings dialog where the question came from.
                Answer::No if matches!(ask_then, Some(Pending::Set(..))) => {
                    self.dialog = Some(Dialog::Settings {
                        selected: self.settings_row,
                    });
                    Vec::new()
                }
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.dialog = Some(Dialog::Confirm(ask));
                    Vec::new()
                }
            },
            Dialog::NewToken { mut label } => match press {
                Press::Act(Action::Back) => Vec::new(),
                Press::Act(Action::Open) => {
                    let text = label.text().trim().to_string();
                    if text.is_empty() {
                        self.dialog = Some(Dialog::NewToken { label });
                        return vec![Toast::error("give the token a label, e.g. okta-prod")];
                    }
                    // Kept until the server answers: a refused label comes back to the field.
                    self.creating = Some(text.clone());
                    vec![call(ID, "create", Call::CreateScimToken { label: text })]
                }
                p => {
                    label.edit(p);
                    self.dialog = Some(Dialog::NewToken { label });
                    Vec::new()
                }
            },
            Dialog::Secret(t) => match press {
                Press::Act(Action::Copy) => {
                    let text = t.token.clone();
                    self.dialog = Some(Dialog::Secret(t));
                    vec![
                        Cmd::Copy(text),
                        Toast::info(
                            "token sent to the terminal's clipboard (OSC 52); a terminal or \
                             tmux that does not pass OSC 52 on receives nothing: if pasting \
                             fails, copy it from this window",
                        ),
                    ]
                }
                // Only its close keys close it (the secret is then gone from memory): a
                // stray key must not lose a secret that is never shown again.
                Press::Act(Action::Back) => Vec::new(),
                _ => {
                    self.dialog = Some(Dialog::Secret(t));
                    Vec::new()
                }
            },
        }
    }

    pub(super) fn confirmed(&mut self, then: Pending) -> Vec<Cmd> {
        match then {
            Pending::Set(setting, on) => {
                self.dialog = Some(Dialog::Settings {
                    selected: self.settings_row,
                });
                vec![Self::patch(setting.patch(on))]
            }
            Pending::Revoke { id, .. } => vec![call(ID, "revoke", Call::RevokeScimToken { id })],
        }
    }

    pub(super) fn on_reply(
        &mut self,
        slot: &str,
        call_: Call,
        result: Result<Reply, crate::client::ApiError>,
    ) -> Vec<Cmd> {
        match result {
            Ok(Reply::ScimSettings(s)) => {
                let was = self.settings.replace(s.clone());
                if slot == "patch" {
                    return vec![Toast::success(describe_change(was.as_ref(), &s))];
                }
                Vec::new()
            }
            Ok(Reply::ScimTokens(p)) => {
                let Call::ScimTokens(req) = &call_ else {
                    return Vec::new();
                };
                if let Some(k) = self.tokens.page_of(req) {
                    self.tokens.land(k, p);
                }
                Vec::new()
            }
            Ok(Reply::ScimActivity(a)) => {
                self.activity = a;
                Vec::new()
            }
            Ok(Reply::ServiceProviderConfig { doc, note }) => {
                self.spc = Some((doc, note));
                Vec::new()
            }
            Ok(Reply::CreatedScimToken(t)) => {
                self.creating = None;
                let label = t.label.clone();
                self.dialog = Some(Dialog::Secret(t));
                let mut out: Vec<Cmd> = self.tokens_reload().into_iter().collect();
                out.push(Toast::success(format!("token '{label}' created")));
                out
            }
            Ok(Reply::Done) => {
                let what = match call_ {
                    Call::RevokeScimToken { .. } => "token revoked",
                    _ => "done",
                };
                let mut out: Vec<Cmd> = self.tokens_reload().into_iter().collect();
                out.push(Toast::success(what));
                out
            }
            Ok(_) => Vec::new(),
            // A server without the activity route: the columns stay empty.
            Err(_) if slot == "activity" => Vec::new(),
            Err(e) if slot == "spc" => {
                self.spc = Some((Value::String(e.to_string()), None));
                Vec::new()
            }
            // A refused label (taken, too long): the dialog again, with what was typed.
            Err(e) if slot == "create" => {
                if let Some(text) = self.creating.take() {
                    self.dialog = Some(Dialog::NewToken {
                        label: LineEdit::new(text),
                    });
                }
                vec![Toast::error(e.to_string())]
            }
            // An unreachable server is the banner's to tell (the poll would toast every 5 s).
            Err(e) => crate::console::panes::common::call::failure(&e),
        }
    }
}

pub(super) fn describe_change(was: Option<&ScimSettings>, now: &ScimSettings) -> String {
    let Some(was) = was else {
        return "settings saved".into();
    };
    let onoff = |b: bool| if b { "on" } else { "off" };
    if was.enabled != now.enabled {
        return format!("SCIM {}", if now.enabled { "enabled" } else { "disabled" });
    }
    if was.sso_role_mapping != now.sso_role_mapping {
        return format!("SSO role mapping {}", onoff(now.sso_role_mapping));
    }
    let (a, b) = (was.approval, now.approval);
    if a.provision != b.provision {
        return format!("approval of new members {}", onoff(b.provision));
    }
    if a.access_increase != b.access_increase {
        return format!("approval of access increases {}", onoff(b.access_increase));
    }
    if a.deprovision != b.deprovision {
        return format!("approval of deprovisioning {}", onoff(b.deprovision));
    }
    "settings saved".into()
}
