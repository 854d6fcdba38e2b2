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
