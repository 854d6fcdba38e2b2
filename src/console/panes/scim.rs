//! The SCIM pane: the org's SCIM switch, the URL to give the IdP, SCIM tokens, the SSO role
//! mapping flag with its warning, the approval policy, and a ServiceProviderConfig summary.

use super::common::call::call;
use super::common::dialog::{Answer, Ask};
use super::common::fmt::{TimeWidth, short_time, truncate};
use super::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::{
    ApprovalPatch, IssuedToken, PageReq, ScimSettings, ScimSettingsPatch, ScimToken,
};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::keymap::{Action, BindingSpec, Key, mutating, spec};
use crate::console::theme::Theme;
use crate::console::views::centered;
use crate::console::widgets::confirm::Confirm;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use serde_json::Value;

pub const BINDINGS: &[BindingSpec] = &[
    mutating(
        &[Key::ch('e')],
        Action::ToggleScim,
        Some("enable/disable"),
        "Enable or disable SCIM (asks first)",
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
    mutating(
        &[Key::ch('s')],
        Action::ToggleSsoRoleMapping,
        Some("SSO roles"),
        "Turn SSO role mapping on or off",
    ),
    mutating(
        &[Key::ch('p')],
        Action::ToggleApprovalProvision,
        None,
        "Approval policy: new members wait for approval",
    ),
    mutating(
        &[Key::ch('i')],
        Action::ToggleApprovalAccessIncrease,
        None,
        "Approval policy: access increases wait for approval",
    ),
    mutating(
        &[Key::ch('d')],
        Action::ToggleApprovalDeprovision,
        None,
        "Approval policy: deprovisioning waits for approval",
    ),
];

/// What a confirmed dialog does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    SetEnabled(bool),
    SetSso(bool),
    Revoke { id: String, label: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// It starts on Cancel.
    Confirm(Ask<Pending>),
    /// The new token's label.
    NewToken { label: String },
    /// The new token's secret, shown this once.
    Secret(IssuedToken),
}

#[derive(Debug, Default)]
pub struct ScimPane {
    pub settings: Option<ScimSettings>,
    pub tokens: Option<Vec<ScimToken>>,
    pub tokens_total: u64,
    pub selected: usize,
    pub spc: Option<(Value, bool)>,
    pub dialog: Option<Dialog>,
    /// From the context on every update: what changed since an older snapshot (marked on
    /// the settings), and whether keys that change things exist (their hints are hidden).
    pub changes: Option<std::sync::Arc<crate::console::changes::Changes>>,
    pub read_only: bool,
    /// Lets app tests exercise the unsaved-edits guard; this pane saves at once otherwise.
    #[cfg(test)]
    pub test_dirty: bool,
}

const ID: PaneId = PaneId::Scim;

impl ScimPane {
    fn load(&self) -> Vec<Cmd> {
        vec![
            call(ID, "settings", Call::ScimSettings),
            call(ID, "tokens", Call::ScimTokens(PageReq::first(200))),
            call(ID, "spc", Call::ServiceProviderConfig),
        ]
    }

    fn patch(p: ScimSettingsPatch) -> Cmd {
        call(ID, "patch", Call::PatchScim(p))
    }

    fn selected_token(&self) -> Option<&ScimToken> {
        self.tokens.as_ref()?.get(self.selected)
    }

    fn on_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        let n = self.tokens.as_ref().map_or(0, Vec::len);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = n.saturating_sub(1),
            Action::PageUp => self.selected = self.selected.saturating_sub(cx.page_rows as usize),
            Action::PageDown => {
                self.selected = (self.selected + cx.page_rows as usize).min(n.saturating_sub(1))
            }
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
                    label: String::new(),
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

    fn flip(&self, cur: Option<bool>, set: impl Fn(&mut ApprovalPatch, bool)) -> Vec<Cmd> {
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

    fn scim_url(&self, cx: &Ctx) -> String {
        self.settings
            .as_ref()
            .and_then(|s| s.scim_url.clone())
            .unwrap_or_else(|| cx.scim_url.clone())
    }

    fn on_dialog_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match dialog {
            Dialog::Confirm(ask) => match ask.key(key) {
                Answer::Yes(then) => self.confirmed(then),
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.dialog = Some(Dialog::Confirm(ask));
                    Vec::new()
                }
            },
            Dialog::NewToken { mut label } => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => {
                    let label = label.trim().to_string();
                    if label.is_empty() {
                        self.dialog = Some(Dialog::NewToken { label });
                        return vec![Toast::error("give the token a label, e.g. okta-prod")];
                    }
                    vec![call(ID, "create", Call::CreateScimToken { label })]
                }
                KeyCode::Backspace => {
                    label.pop();
                    self.dialog = Some(Dialog::NewToken { label });
                    Vec::new()
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    label.push(c);
                    self.dialog = Some(Dialog::NewToken { label });
                    Vec::new()
                }
                _ => {
                    self.dialog = Some(Dialog::NewToken { label });
                    Vec::new()
                }
            },
            Dialog::Secret(t) => match key.code {
                KeyCode::Char('y') => {
                    let text = t.token.clone();
                    self.dialog = Some(Dialog::Secret(t));
                    vec![
                        Cmd::Copy(text),
                        Toast::success("token copied (OSC 52); store it in the IdP now"),
                    ]
                }
                // Any other key closes it, and the secret is gone from memory.
                _ => Vec::new(),
            },
        }
    }

    fn confirmed(&mut self, then: Pending) -> Vec<Cmd> {
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

    fn on_reply(
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
                self.tokens_total = p.total;
                self.selected = self.selected.min(p.items.len().saturating_sub(1));
                self.tokens = Some(p.items);
                Vec::new()
            }
            Ok(Reply::ServiceProviderConfig { doc, from_server }) => {
                self.spc = Some((doc, from_server));
                Vec::new()
            }
            Ok(Reply::CreatedScimToken(t)) => {
                let label = t.label.clone();
                self.dialog = Some(Dialog::Secret(t));
                vec![
                    call(ID, "tokens", Call::ScimTokens(PageReq::first(200))),
                    Toast::success(format!("token '{label}' created")),
                ]
            }
            Ok(Reply::Done) => {
                let what = match call_ {
                    Call::RevokeScimToken { .. } => "token revoked",
                    _ => "done",
                };
                vec![
                    call(ID, "tokens", Call::ScimTokens(PageReq::first(200))),
                    Toast::success(what),
                ]
            }
            Ok(_) => Vec::new(),
            Err(e) if slot == "spc" => {
                self.spc = Some((Value::String(e.to_string()), false));
                Vec::new()
            }
            Err(e) => vec![Toast::error(e.to_string())],
        }
    }
}

fn describe_change(was: Option<&ScimSettings>, now: &ScimSettings) -> String {
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

impl Pane for ScimPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn captures_input(&self) -> bool {
        self.dialog.is_some()
    }

    #[cfg(test)]
    fn dirty(&self) -> bool {
        self.test_dirty
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
        self.changes = cx.changes.clone();
        self.read_only = cx.read_only;
        match msg {
            PaneMsg::Activated if self.settings.is_none() => self.load(),
            PaneMsg::Activated | PaneMsg::Poll | PaneMsg::Filter(_) => Vec::new(),
            PaneMsg::Refresh => self.load(),
            PaneMsg::Key(k) => self.on_dialog_key(k),
            PaneMsg::Action(a) => self.on_action(a, cx),
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let [top, tokens] =
            Layout::vertical([Constraint::Length(9), Constraint::Min(3)]).areas(area);
        let [settings, spc] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(top);
        self.view_settings(f, settings, theme);
        self.view_spc(f, spc, theme);
        self.view_tokens(f, tokens, theme);
        if let Some(d) = &self.dialog {
            view_dialog(f, area, d, theme);
        }
    }
}

/// A setting's old value as the diff words it (`true`, `false`), in the pane's words.
fn on_off(v: &str) -> &str {
    match v {
        "true" => "on",
        "false" => "off",
        other => other,
    }
}

fn flag(on: bool, theme: &Theme) -> Span<'static> {
    if on {
        Span::styled("[x] on ", theme.ok)
    } else {
        Span::styled("[ ] off", theme.dim)
    }
}

impl ScimPane {
    fn view_settings(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(" SCIM settings ");
        let Some(s) = &self.settings else {
            f.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        };
        // With a comparison, a mark column: `~` and the old value on what changed.
        let changes = self.changes.as_deref();
        let row = |label: &'static str, value: Span<'static>, key: &'static str, name: &str| {
            let mut spans = Vec::new();
            let changed = changes.and_then(|c| c.setting(name));
            if changes.is_some() {
                spans.push(Span::styled(
                    if changed.is_some() { "~ " } else { "  " },
                    theme.warn,
                ));
                spans.push(Span::raw(format!("{label:<22}")));
            } else {
                spans.push(Span::raw(format!("{label:<24}")));
            }
            spans.push(value);
            if let Some(c) = changed {
                spans.push(Span::styled(
                    format!(" (was {})", on_off(&c.from)),
                    theme.warn,
                ));
            } else if !self.read_only {
                spans.push(Span::styled(format!("  {key}"), theme.key));
            }
            Line::from(spans)
        };
        let status = if s.enabled {
            Span::styled("● enabled", theme.ok)
        } else {
            Span::styled("○ disabled", theme.warn)
        };
        let mut lines = vec![
            row("SCIM provisioning", status, "e", "enabled"),
            row(
                "SSO role mapping",
                flag(s.sso_role_mapping, theme),
                "s",
                "sso_role_mapping",
            ),
            Line::styled("Approval needed for:", theme.title),
            row(
                "  new members",
                flag(s.approval.provision, theme),
                "p",
                "approval.provision",
            ),
            row(
                "  access increases",
                flag(s.approval.access_increase, theme),
                "i",
                "approval.access_increase",
            ),
            row(
                "  deprovisioning",
                flag(s.approval.deprovision, theme),
                "d",
                "approval.deprovision",
            ),
        ];
        for w in &s.warnings {
            lines.push(Line::styled(format!("⚠ {}", w.message), theme.warn));
        }
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }

    fn view_spc(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(" ServiceProviderConfig ");
        let lines = match &self.spc {
            None => vec![Line::from("loading…")],
            Some((Value::String(err), _)) => vec![Line::styled(format!("✗ {err}"), theme.error)],
            Some((doc, from_server)) => {
                let sup = |k: &str| {
                    doc.pointer(&format!("/{k}/supported"))
                        .and_then(Value::as_bool)
                };
                let yn = |b: Option<bool>| match b {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "?",
                };
                let max = doc
                    .pointer("/filter/maxResults")
                    .and_then(Value::as_u64)
                    .map(|m| format!(" (max {m})"))
                    .unwrap_or_default();
                let auth = doc
                    .pointer("/authenticationSchemes/0/name")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let mut l = vec![
                    Line::from(format!(
                        "PATCH {}  Bulk {}",
                        yn(sup("patch")),
                        yn(sup("bulk"))
                    )),
                    Line::from(format!("Filter {}{max}", yn(sup("filter")))),
                    Line::from(format!(
                        "Sort {}  ETag {}",
                        yn(sup("sort")),
                        yn(sup("etag"))
                    )),
                    Line::from(format!("Change password {}", yn(sup("changePassword")))),
                    Line::from(format!("Auth: {auth}")),
                ];
                if !from_server {
                    l.push(Line::styled("(local: needs a SCIM token)", theme.dim));
                }
                l
            }
        };
        f.render_widget(Paragraph::new(lines).block(block), area);
    }

    fn view_tokens(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let mut title = format!(" SCIM tokens ({}) ", self.tokens_total);
        if let Some(c) = self.changes.as_ref().and_then(|c| c.setting("tokens")) {
            title.push_str(&format!("~ changed: was {} ", c.from));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(title);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let mut lines = Vec::new();
        match &self.tokens {
            None => lines.push(Line::from("loading…")),
            Some(ts) if ts.is_empty() => lines.push(Line::from(
                "No SCIM tokens: press n to create one for your IdP.",
            )),
            Some(ts) => {
                lines.push(Line::styled(
                    format!("  {:<24} {:<21} {}", "LABEL", "CREATED", "LAST USED"),
                    theme.title,
                ));
                let rows = inner.height.saturating_sub(1) as usize;
                let start = (self.selected + 1).saturating_sub(rows);
                for (i, t) in ts.iter().enumerate().skip(start).take(rows) {
                    let sel = i == self.selected;
                    let line = Line::from(format!(
                        "{}{:<24} {:<21} {}",
                        if sel { "▶ " } else { "  " },
                        truncate(&t.label, 24),
                        short_time(&t.created_at, TimeWidth::Seconds),
                        t.last_used_at
                            .as_deref()
                            .map(|t| short_time(t, TimeWidth::Seconds))
                            .unwrap_or_else(|| "never".into())
                    ));
                    lines.push(if sel {
                        line.style(theme.selected)
                    } else {
                        line
                    });
                }
            }
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

fn view_dialog(f: &mut Frame, area: Rect, d: &Dialog, theme: &Theme) {
    let (title, lines, style) = match d {
        Dialog::Confirm(Ask { confirm, .. }) => {
            confirm.render(f, area, &theme.widget_style());
            return;
        }
        Dialog::NewToken { label } => (
            " New SCIM token ".to_string(),
            vec![
                Line::from("Label (which IdP uses it):"),
                Line::from(vec![
                    Span::raw(format!("> {label}")),
                    Span::styled("█", theme.dim),
                ]),
                Line::from(""),
                Line::styled("Enter creates · Esc cancels", theme.dim),
            ],
            theme.focus_border,
        ),
        Dialog::Secret(t) => (
            format!(" Token '{}' ", t.label),
            vec![
                Line::styled("Shown only now: copy it into the IdP.", theme.warn),
                Line::from(t.token.clone()),
                Line::from(""),
                Line::from(vec![
                    Span::styled("y", theme.key),
                    Span::raw(" copy (OSC 52) · any other key closes"),
                ]),
            ],
            theme.ok,
        ),
    };
    let h = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, 74, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(style)
                    .title(title),
            )
            .wrap(Wrap { trim: false }),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ApprovalSettings, Page};
    use ratatui::crossterm::event::KeyModifiers;

    fn settings(enabled: bool, sso: bool) -> ScimSettings {
        ScimSettings {
            enabled,
            sso_role_mapping: sso,
            approval: ApprovalSettings {
                provision: true,
                access_increase: true,
                deprovision: false,
            },
            user_name_is_email: None,
            warnings: vec![],
            scim_url: Some("http://srv/scim/v2.0/organizations/acme".into()),
        }
    }

    fn pane() -> ScimPane {
        ScimPane {
            settings: Some(settings(true, false)),
            tokens: Some(vec![ScimToken {
                id: "t1".into(),
                label: "okta".into(),
                created_at: "2026-11-23T10:00:00Z".into(),
                last_used_at: None,
            }]),
            tokens_total: 1,
            ..Default::default()
        }
    }

    fn k(c: KeyCode) -> PaneMsg {
        PaneMsg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn act(p: &mut ScimPane, a: Action) -> Vec<Cmd> {
        p.update(PaneMsg::Action(a), &Ctx::default())
    }

    fn calls(cmds: &[Cmd]) -> Vec<Call> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Call { call, .. } => Some(call.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn activation_loads_settings_tokens_and_discovery() {
        let mut p = ScimPane::default();
        let c = calls(&p.update(PaneMsg::Activated, &Ctx::default()));
        assert!(c.contains(&Call::ScimSettings));
        assert!(c.contains(&Call::ScimTokens(PageReq::first(200))));
        assert!(c.contains(&Call::ServiceProviderConfig));
    }

    #[test]
    fn disabling_scim_asks_and_defaults_to_cancel() {
        let mut p = pane();
        assert!(act(&mut p, Action::ToggleScim).is_empty());
        assert!(p.captures_input());
        // Enter on the default button cancels.
        assert!(p.update(k(KeyCode::Enter), &Ctx::default()).is_empty());
        assert!(p.dialog.is_none());
        act(&mut p, Action::ToggleScim);
        p.update(k(KeyCode::Tab), &Ctx::default());
        let c = calls(&p.update(k(KeyCode::Enter), &Ctx::default()));
        assert_eq!(
            c,
            vec![Call::PatchScim(ScimSettingsPatch {
                enabled: Some(false),
                ..Default::default()
            })]
        );
        // Esc cancels too.
        act(&mut p, Action::ToggleScim);
        assert!(p.update(k(KeyCode::Esc), &Ctx::default()).is_empty());
        assert!(p.dialog.is_none());
    }

    #[test]
    fn patch_reply_says_what_changed() {
        let mut p = pane();
        let cmds = p.update(
            PaneMsg::Reply {
                slot: "patch",
                call: Call::ScimSettings,
                result: Ok(Reply::ScimSettings(settings(false, false))),
            },
            &Ctx::default(),
        );
        assert!(cmds.contains(&Toast::success("SCIM disabled")));
        assert!(!p.settings.unwrap().enabled);
    }

    #[test]
    fn y_copies_the_scim_url() {
        let mut p = pane();
        let cmds = act(&mut p, Action::CopyScimUrl);
        assert!(cmds.contains(&Cmd::Copy("http://srv/scim/v2.0/organizations/acme".into())));
    }

    #[test]
    fn new_token_shows_the_secret_once_and_copies_it() {
        let mut p = pane();
        act(&mut p, Action::NewToken);
        // An empty label is refused with advice.
        let cmds = p.update(k(KeyCode::Enter), &Ctx::default());
        assert!(matches!(&cmds[..], [Cmd::Toast(t)] if t.text.contains("label")));
        for c in "entra".chars() {
            p.update(k(KeyCode::Char(c)), &Ctx::default());
        }
        let c = calls(&p.update(k(KeyCode::Enter), &Ctx::default()));
        assert_eq!(
            c,
            vec![Call::CreateScimToken {
                label: "entra".into()
            }]
        );
        let issued: IssuedToken = serde_json::from_value(serde_json::json!({
            "id": "t2", "label": "entra", "token": "s3cret"
        }))
        .unwrap();
        let cmds = p.update(
            PaneMsg::Reply {
                slot: "create",
                call: c[0].clone(),
                result: Ok(Reply::CreatedScimToken(issued)),
            },
            &Ctx::default(),
        );
        assert!(calls(&cmds).contains(&Call::ScimTokens(PageReq::first(200))));
        assert!(matches!(&p.dialog, Some(Dialog::Secret(t)) if t.token == "s3cret"));
        let cmds = p.update(k(KeyCode::Char('y')), &Ctx::default());
        assert!(cmds.contains(&Cmd::Copy("s3cret".into())));
        p.update(k(KeyCode::Esc), &Ctx::default());
        assert!(p.dialog.is_none(), "the secret is dropped once closed");
    }

    #[test]
    fn revoke_asks_then_revokes_the_selected_token() {
        let mut p = pane();
        act(&mut p, Action::RevokeToken);
        match &p.dialog {
            Some(Dialog::Confirm(Ask { confirm, .. })) => {
                assert!(!confirm.on_action());
                assert!(confirm.danger);
                assert!(confirm.message.contains("okta"));
            }
            d => panic!("{d:?}"),
        }
        p.update(k(KeyCode::Tab), &Ctx::default());
        let c = calls(&p.update(k(KeyCode::Enter), &Ctx::default()));
        assert_eq!(c, vec![Call::RevokeScimToken { id: "t1".into() }]);
        let cmds = p.update(
            PaneMsg::Reply {
                slot: "revoke",
                call: c[0].clone(),
                result: Ok(Reply::Done),
            },
            &Ctx::default(),
        );
        assert!(cmds.contains(&Toast::success("token revoked")));
    }

    #[test]
    fn sso_role_mapping_warns_when_scim_is_on() {
        let mut p = pane();
        act(&mut p, Action::ToggleSsoRoleMapping);
        match &p.dialog {
            Some(Dialog::Confirm(Ask { confirm, then })) => {
                assert!(confirm.message.contains("⚠"));
                assert_eq!(then, &Pending::SetSso(true));
            }
            d => panic!("{d:?}"),
        }
        // Turning it off needs no confirmation.
        let mut p = pane();
        p.settings = Some(settings(true, true));
        let c = calls(&act(&mut p, Action::ToggleSsoRoleMapping));
        assert_eq!(
            c,
            vec![Call::PatchScim(ScimSettingsPatch {
                sso_role_mapping: Some(false),
                ..Default::default()
            })]
        );
    }

    #[test]
    fn approval_toggles_flip_one_policy_each() {
        let mut p = pane();
        let c = calls(&act(&mut p, Action::ToggleApprovalProvision));
        assert_eq!(
            c,
            vec![Call::PatchScim(ScimSettingsPatch {
                approval: ApprovalPatch {
                    provision: Some(false),
                    ..Default::default()
                },
                ..Default::default()
            })]
        );
        let c = calls(&act(&mut p, Action::ToggleApprovalDeprovision));
        assert!(matches!(&c[0], Call::PatchScim(x) if x.approval.deprovision == Some(true)));
        let c = calls(&act(&mut p, Action::ToggleApprovalAccessIncrease));
        assert!(matches!(&c[0], Call::PatchScim(x) if x.approval.access_increase == Some(false)));
    }

    #[test]
    fn token_list_moves_within_bounds() {
        let mut p = pane();
        let mut ts = p.tokens.take().unwrap();
        ts.push(ts[0].clone());
        p.update(
            PaneMsg::Reply {
                slot: "tokens",
                call: Call::ScimTokens(PageReq::first(200)),
                result: Ok(Reply::ScimTokens(Page {
                    items: ts,
                    total: 2,
                    next: None,
                })),
            },
            &Ctx::default(),
        );
        act(&mut p, Action::Down);
        act(&mut p, Action::Down);
        assert_eq!(p.selected, 1);
        act(&mut p, Action::Top);
        assert_eq!(p.selected, 0);
        act(&mut p, Action::Bottom);
        assert_eq!(p.selected, 1);
    }

    fn screen(p: &ScimPane) -> Vec<String> {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 20)).unwrap();
        term.draw(|f| p.view(f, f.area(), &Theme::mono())).unwrap();
        let buf = term.backend().buffer();
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    fn line<'a>(lines: &'a [String], what: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line with {what}: {lines:#?}"))
    }

    #[test]
    fn changed_settings_are_marked_with_their_old_value_when_comparing() {
        let (old, mut new) = crate::console::changes::tests::pair();
        new.scim.tokens[0].id = "t2".into();
        new.scim.tokens[0].label = "entra".into();
        let changes =
            std::sync::Arc::new(crate::console::changes::Changes::new(&old, &new, "q1.json"));
        let mut p = pane();
        let cx = Ctx {
            read_only: true,
            changes: Some(changes),
            ..Default::default()
        };
        p.update(PaneMsg::Poll, &cx);
        let mut s = settings(true, false);
        s.approval.deprovision = true;
        p.settings = Some(s);
        let lines = screen(&p);
        let dep = line(&lines, "deprovisioning");
        assert!(dep.contains("│~   deprovisioning"), "{dep}");
        assert!(dep.contains("[x] on  (was off)"), "{dep}");
        for unchanged in ["SCIM provisioning", "SSO role mapping", "new members"] {
            let l = line(&lines, unchanged);
            assert!(!l.contains('~') && !l.contains("was"), "{l}");
        }
        assert!(
            line(&lines, "SCIM tokens").contains("~ changed: was okta"),
            "{lines:#?}"
        );
        // Read-only: the keys that would change a setting are not offered.
        assert!(
            !line(&lines, "SSO role mapping").contains(" s "),
            "{lines:#?}"
        );
    }

    #[test]
    fn without_a_comparison_the_settings_look_as_they_always_did() {
        let mut p = pane();
        p.update(PaneMsg::Poll, &Ctx::default());
        let lines = screen(&p);
        let l = line(&lines, "SSO role mapping");
        assert!(l.starts_with("│SSO role mapping        [ ] off  s"), "{l}");
        assert!(!lines.iter().any(|l| l.contains('~')));
    }
}
