//! What the panes share: the server-paged list, the confirm dialog, the backend call helper,
//! the text formats and the list/detail split.

pub mod call;
pub mod dialog;
pub mod fmt;
pub mod paged;
pub mod split;
