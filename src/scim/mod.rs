//! The SCIM 2.0 protocol core (RFC 7643/7644). No HTTP, no database, no terminal: the rules
//! live here and are tested here.

pub mod bulk;
pub mod cursor;
pub mod datetime;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod text;

pub use error::{ScimError, ScimResult, ScimType};

/// Where an org's SCIM endpoint lives on the server: `{origin}{SCIM_PREFIX}/{org uid}` is the
/// URL an IdP is given. A protocol constant, shared by the server, the CLI and the console.
pub const SCIM_PREFIX: &str = "/scim/v2.0/organizations";
