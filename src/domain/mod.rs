//! The domain rules of scimdesk: roles, effective access and the approval queue. Pure: no HTTP,
//! no database, no terminal. The server computes access here and only here.

pub mod access;
pub mod approval;
pub mod audit_ids;
pub mod settings;
