//! What the SCIM pane holds: the settings, tokens, discovery summary and its dialog.

use super::*;

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
    NewToken { label: LineEdit },
    /// The new token's secret, shown this once.
    Secret(IssuedToken),
}

#[derive(Debug, Default)]
pub struct ScimPane {
    pub settings: Option<ScimSettings>,
    /// The org's SCIM tokens, paged like every list.
    pub tokens: Paged<ScimToken>,
    pub spc: Option<(Value, bool)>,
    /// IdP activity per token (the server process's view), by token id.
    pub activity: crate::client::ScimActivity,
    pub dialog: Option<Dialog>,
    /// The console's own idea of the SCIM URL, shown until the server's settings say theirs.
    pub ctx_url: String,
    /// Lets app tests exercise the unsaved-edits guard; this pane saves at once otherwise.
    #[cfg(test)]
    pub test_dirty: bool,
}
