//! The readOnly provisioning extension of SCIM Users: the membership's state and whether an
//! approval request is open. Returned when `attributes=` names it (its attributes are
//! `returned: request`); never stored, so the resource stays as the IdP wrote it.

use super::core;
use crate::scim::schema::PROVISIONING_USER_SCHEMA_ID;
use crate::store::{Kind, Store, StoreResult};
use serde_json::{Value, json};

/// Whether `attributes=` asks for the extension or one of its attributes.
fn requested(params: &[(String, String)]) -> bool {
    core::param(params, "attributes").is_some_and(|list| {
        list.split(',').any(|a| {
            let a = a.trim();
            a.len() >= PROVISIONING_USER_SCHEMA_ID.len()
                && a.is_char_boundary(PROVISIONING_USER_SCHEMA_ID.len())
                && a[..PROVISIONING_USER_SCHEMA_ID.len()]
                    .eq_ignore_ascii_case(PROVISIONING_USER_SCHEMA_ID)
        })
    })
}

/// Adds the extension to rendered users when asked for, in one store query for the page.
pub async fn attach<S: Store>(
    store: &S,
    org_id: i64,
    kind: Kind,
    params: &[(String, String)],
    docs: &mut [Value],
) -> StoreResult<()> {
    if kind != Kind::User || docs.is_empty() || !requested(params) {
        return Ok(());
    }
    let ids: Vec<String> = docs
        .iter()
        .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let states = store.provisioning_states(org_id, &ids).await?;
    for doc in docs.iter_mut() {
        let Some(p) = doc
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| states.get(id))
            .copied()
        else {
            continue;
        };
        if let Some(Value::Array(schemas)) = doc.get_mut("schemas") {
            schemas.push(json!(PROVISIONING_USER_SCHEMA_ID));
        }
        doc[PROVISIONING_USER_SCHEMA_ID] =
            json!({"state": p.state.as_str(), "pendingRequest": p.pending_request});
    }
    Ok(())
}
