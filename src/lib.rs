//! scimdesk: a SCIM 2.0 service provider with group mapping, an approval queue and a terminal
//! console. See DESIGN in the README for the module map.

pub mod cli;
pub mod client;
pub mod console;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod private_files;
pub mod progress;
pub mod scim;
pub mod server;
pub mod snapshot;
pub mod store;
