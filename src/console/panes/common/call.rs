//! Backend calls as panes ask for them, and the toasts their failures are worth.

use crate::client::ApiError;
use crate::console::app::{Cmd, Toast};
use crate::console::backend::Call;
use crate::console::panes::PaneId;

/// Asks the app to run `call` for `pane`; the answer comes back in `slot` (see the module
/// doc of `panes`: a newer fetch in the same slot supersedes the older one).
pub fn call(pane: PaneId, slot: &'static str, call: Call) -> Cmd {
    Cmd::Call { pane, slot, call }
}

/// The toast a failed call is worth: none for an unreachable server, which the banner already
/// tells (a toast on every poll would bury everything else).
pub fn failure(e: &ApiError) -> Vec<Cmd> {
    if matches!(e, ApiError::Unreachable { .. }) {
        Vec::new()
    } else {
        vec![Toast::error(e.to_string())]
    }
}
