//! The terminal console: a pure `app::update`, views that only draw, and an effects task
//! that runs the update's commands against a `backend::Backend`.

pub mod app;
pub mod backend;
pub mod keymap;
pub mod panes;
pub mod theme;
pub mod views;
