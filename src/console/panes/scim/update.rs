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
        if self.tokens.step(action, table_rows(self.areas(cx.body)[3])) {
            return self
                .tokens
                .follow()
                .map(|p| call(ID, "tokens", Call::ScimTokens(p)))
                .into_iter()
                .collect();
        }
        match action {
            Action::CopyScimUrl => {
                let url = self.scim_url(cx);
                return vec![Cmd::Copy(url), Toast::success("SCIM URL copied (OSC 52)")];
            }
            Action::ToggleScim => {
                let Some(s) = &self.settings else {
                    return Vec::new();
                };
                let (title, text) = if s.enabled {
                    (
                        "Disable SCIM?",
                        vec![
                            "The IdP's requests will be refused (403) until SCIM is enabled again."
                                .to_string(),
                            "Members and their access stay as they are.".to_string(),
                        ],
                    )
                } else {
                    (
                        "Enable SCIM?",
                        vec!["The IdP may then create, change and deprovision members.".into()],
                    )
                };
                let verb = if s.enabled { "Disable" } else { "Enable" };
                let mut c = Confirm::new(title, text.join(" "), verb);
                if s.enabled {
                    c = c.dangerous();
                }
                self.dialog = Some(Dialog::Confirm(Ask::new(
                    c,
                    Pending::SetEnabled(!s.enabled),
                )));
            }
            Action::ToggleSsoRoleMapping => {
                let Some(s) = &self.settings else {
                    return Vec::new();
                };
                if s.sso_role_mapping {
                    return vec![Self::patch(ScimSettingsPatch {
                        sso_role_mapping: Some(false),
                        ..Default::default()
                    })];
                }
                let mut text: Vec<String> =
                    vec!["SSO role mapping lets the IdP's SSO assertion set roles.".into()];
                if s.enabled {
                    text.push(
                        "⚠ SCIM is on: SCIM groups already assign roles, and the two will fight. \
                         Keeping SSO role mapping off is recommended."
                            .into(),
                    );
                }
                self.dialog = Some(Dialog::Confirm(Ask::new(
                    Confirm::new("Turn SSO role mapping on?", text.join(" "), "Turn on"),
                    Pending::SetSso(true),
                )));
            }
            Action::ToggleApprovalProvision => {
                let cur = self.settings.as_ref().map(|s| s.approval.provision);
                return self.flip(cur, |a, v| a.provision = Some(v));
            }
            Action::ToggleApprovalAccessIncrease => {
                let cur = self.settings.as_ref().map(|s| s.approval.access_increase);
                return self.flip(cur, |a, v| a.access_increase = Some(v));
            }
            Action::ToggleApprovalDeprovision => {
                let cur = self.settings.as_ref().map(|s| s.approval.deprovision);
                return self.flip(cur, |a, v| a.deprovision = Some(v));
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

    pub(super) fn flip(
        &self,
        cur: Option<bool>,
        set: impl Fn(&mut ApprovalPatch, bool),
    ) -> Vec<Cmd> {
        let Some(cur) = cur else {
            return Vec::new();
        };
        let mut a = ApprovalPatch::default();
        set(&mut a, !cur);
        vec![Self::patch(ScimSettingsPatch {
            approval: a,
            ..Default::default()
        })]
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
        match dialog {
            Dialog::Confirm(ask) => match ask.key(press) {
                Answer::Yes(then) => self.confirmed(then),
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
                        Toast::success("token copied (OSC 52); store it in the IdP now"),
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
            Pending::SetEnabled(on) => vec![Self::patch(ScimSettingsPatch {
                enabled: Some(on),
                ..Default::default()
            })],
            Pending::SetSso(on) => vec![Self::patch(ScimSettingsPatch {
                sso_role_mapping: Some(on),
                ..Default::default()
            })],
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
            Ok(Reply::ServiceProviderConfig { doc, from_server }) => {
                self.spc = Some((doc, from_server));
                Vec::new()
            }
            Ok(Reply::CreatedScimToken(t)) => {
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
                self.spc = Some((Value::String(e.to_string()), false));
                Vec::new()
            }
            Err(e) => vec![Toast::error(e.to_string())],
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
