//! What the SCIM pane holds: the settings, tokens, discovery summary and its dialog.

use super::*;

/// One switch of the settings dialog, in the order it lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Enabled,
    SsoRoleMapping,
    ApproveProvision,
    ApproveAccessIncrease,
    ApproveDeprovision,
}

impl Setting {
    pub const ALL: [Setting; 5] = [
        Setting::Enabled,
        Setting::SsoRoleMapping,
        Setting::ApproveProvision,
        Setting::ApproveAccessIncrease,
        Setting::ApproveDeprovision,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Setting::Enabled => "SCIM provisioning",
            Setting::SsoRoleMapping => "SSO role mapping",
            Setting::ApproveProvision => "Approve new members",
            Setting::ApproveAccessIncrease => "Approve access increases",
            Setting::ApproveDeprovision => "Approve deprovisioning",
        }
    }

    /// Its value in `s`.
    pub fn get(self, s: &ScimSettings) -> bool {
        match self {
            Setting::Enabled => s.enabled,
            Setting::SsoRoleMapping => s.sso_role_mapping,
            Setting::ApproveProvision => s.approval.provision,
            Setting::ApproveAccessIncrease => s.approval.access_increase,
            Setting::ApproveDeprovision => s.approval.deprovision,
        }
    }

    /// The PATCH that sets it to `on`.
    pub fn patch(self, on: bool) -> ScimSettingsPatch {
        let mut p = ScimSettingsPatch::default();
        match self {
            Setting::Enabled => p.enabled = Some(on),
            Setting::SsoRoleMapping => p.sso_role_mapping = Some(on),
            Setting::ApproveProvision => p.approval.provision = Some(on),
            Setting::ApproveAccessIncrease => p.approval.access_increase = Some(on),
            Setting::ApproveDeprovision => p.approval.deprovision = Some(on),
        }
        p
    }

    /// Whether setting it to `on` widens access or stops a review: SCIM or SSO role mapping
    /// on, an approval rule off. Those ask first; the other way applies at once.
    pub fn widens(self, on: bool) -> bool {
        match self {
            Setting::Enabled | Setting::SsoRoleMapping => on,
            _ => !on,
        }
    }
}

/// What a confirmed dialog does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// A setting to this value; the settings dialog opens again on its row afterwards.
    Set(Setting, bool),
    Revoke {
        id: String,
        label: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// It starts on Cancel.
    Confirm(Ask<Pending>),
    /// The new token's label.
    NewToken { label: LineEdit },
    /// The new token's secret, shown this once.
    Secret(IssuedToken),
    /// The settings, one switch a row; `selected` is the highlighted one.
    Settings { selected: usize },
}

#[derive(Debug, Default)]
pub struct ScimPane {
    pub settings: Option<ScimSettings>,
    /// The org's SCIM tokens, paged like every list.
    pub tokens: Paged<ScimToken>,
    /// The org's discovery document as the server serves it (or a snapshot recorded it),
    /// and a note on where it comes from; `Null` with the note when there is none, a string
    /// when it failed.
    pub spc: Option<(Value, Option<String>)>,
    /// IdP activity per token (the server process's view), by token id.
    pub activity: crate::client::ScimActivity,
    pub dialog: Option<Dialog>,
    /// Enter: the selected token's refusals whole over the pane, scrolled this far.
    pub refusals_open: bool,
    pub refusals_scroll: u16,
    /// The label of the token being created, until the server answers.
    pub creating: Option<String>,
    /// The settings dialog's row while one of its questions is open.
    pub settings_row: usize,
    /// The console's own idea of the SCIM URL, shown until the server's settings say theirs.
    pub ctx_url: String,
    /// Lets app tests exercise the unsaved-edits guard; this pane saves at once otherwise.
    #[cfg(test)]
    pub test_dirty: bool,
}
