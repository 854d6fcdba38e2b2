//! What the panes share: the server-paged list, the confirm dialog, the backend call helper
//! and the text formats.

pub mod call;
pub mod dialog;
pub mod fmt;
pub mod paged;
