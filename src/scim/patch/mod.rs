//! PATCH (RFC 7644 §3.5.2).
//!
//! Decisions, where the RFC leaves room or IdPs deviate from it:
//! - Op names and the `Operations`/`op`/`path`/`value` keys match in any case (Entra sends
//!   `"op": "Replace"`). A path that is `null` or empty counts as absent.
//! - `add` on a multi-valued attribute appends and never replaces the list. Adding a value that
//!   is already there is a no-op; for attributes whose `value` sub-attribute is immutable
//!   (Group `members`) two elements are the same when their `value`s are.
//! - `remove` of a multi-valued attribute with a `value` (Entra:
//!   `{"op":"Remove","path":"members","value":[{"value":"ID"}]}`) removes only the listed
//!   elements, never the whole list. A value filter that matches nothing removes nothing
//!   (removals are idempotent). `remove` without a path is 400 `noTarget`.
//! - `replace` (or `add`) on a value path that matches nothing creates the element when the
//!   filter is a conjunction of `sub eq literal` (for example `emails[type eq "work"].value`
//!   creates `{"type": "work", "value": ...}`); any other filter is 400 `noTarget`.
//! - `replace` of a single-valued complex attribute merges the given sub-attributes, as
//!   RFC 7644 §3.5.2.3 says; sub-attributes not given are left as they are.
//! - In a value without a path, readOnly attributes (`id`, `meta`, `schemas`, as Okta sends
//!   them) and unknown attributes are ignored; a path naming a readOnly attribute is 400
//!   `mutability`, an unknown one 400 `invalidPath`. Changing an immutable value that is set is
//!   400 `mutability`.
//! - A password (writeOnly) is never written into the resource: it comes back in
//!   [`PatchOutcome::password`] for the store to hash.
//! - When a change marks one element `primary`, the others lose their `primary` flag
//!   (RFC 7643 §2.4: at most one primary value).

mod apply;
mod group;
mod parse;
mod path;
#[cfg(test)]
mod tests;

pub use apply::{PatchOutcome, apply_patch};
pub use group::{GroupPatchPlan, MemberChange, apply_member_changes, plan_group_patch};
pub use parse::{PatchOp, PatchOpKind, parse_patch_request};
