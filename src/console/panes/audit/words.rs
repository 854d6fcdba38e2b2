//! An audit event in words, as what happened: `+ Admin on Mobile App`, `org role: Member →
//! Admin`. Role sets (a member's granted roles, a mapping's stack roles, a request's gains and
//! losses) are compared as sets, never by list position, and named by the stacks' and roles'
//! names; the raw paths and uids are one key (`u`) away (see [`super::change_words`]).

use super::*;
use crate::client::Stack;

/// The names the console knows for stacks and their roles, by uid.
#[derive(Debug, Default, Clone)]
pub struct Names {
    stacks: HashMap<String, String>,
    roles: HashMap<(String, String), String>,
}

impl Names {
    pub fn learn(&mut self, stacks: &[Stack]) {
        for s in stacks {
            self.stacks.insert(s.uid.clone(), s.name.clone());
            for r in &s.roles {
                self.roles
                    .insert((s.uid.clone(), r.uid.clone()), r.name.clone());
            }
        }
    }

    /// `Developer on Mobile App`; the uid where no name is known.
    fn role(&self, stack: &str, role: &str) -> String {
        let role_name = self
            .roles
            .get(&(stack.to_string(), role.to_string()))
            .cloned()
            .or_else(|| builtin(role).map(str::to_string))
            .unwrap_or_else(|| role.to_string());
        let stack_name = self.stacks.get(stack).map_or(stack, String::as_str);
        format!("{role_name} on {stack_name}")
    }
}

/// The built-in roles' names: their uids are the same in every stack.
fn builtin(uid: &str) -> Option<&'static str> {
    match uid {
        "admin" => Some("Admin"),
        "developer" => Some("Developer"),
        "content_manager" => Some("Content Manager"),
        _ => None,
    }
}

fn org_role(v: Option<&Value>) -> String {
    match v.and_then(Value::as_str) {
        None => "none".into(),
        Some(r) => {
            let mut c = r.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// A list of `{stack_uid, role_uid}` as a set of pairs; `None` when `v` is not one.
fn role_set(v: &Value) -> Option<BTreeSet<(String, String)>> {
    let a = v.as_array()?;
    a.iter()
        .map(|x| {
            Some((
                x.get("stack_uid")?.as_str()?.to_string(),
                x.get("role_uid")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Whether `v` is a request's diff (`org_role_from`, `stack_gains`, …).
fn is_diff(v: &Value) -> bool {
    v.get("stack_gains").is_some() || v.get("org_role_to").is_some()
}

/// A request's diff in words, gains first.
fn diff_words(d: &Value, names: &Names) -> Vec<String> {
    let mut out = Vec::new();
    let (from, to) = (d.get("org_role_from"), d.get("org_role_to"));
    if from != to {
        out.push(format!("org role: {} → {}", org_role(from), org_role(to)));
    }
    for (key, sign) in [("stack_gains", "+"), ("stack_losses", "−")] {
        for (s, r) in d.get(key).and_then(role_set).unwrap_or_default() {
            out.push(format!("{sign} {}", names.role(&s, &r)));
        }
    }
    out
}

/// Splits `v` (an object) into its role sets and diffs by path, and the rest.
fn split(
    prefix: &str,
    v: &Value,
    sets: &mut BTreeMap<String, BTreeSet<(String, String)>>,
    diffs: &mut BTreeMap<String, Value>,
    rest: &mut serde_json::Map<String, Value>,
) {
    let Some(m) = v.as_object() else {
        if !v.is_null() {
            rest.insert(prefix.to_string(), v.clone());
        }
        return;
    };
    for (k, x) in m {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some(set) = (x.as_array().is_some_and(|a| !a.is_empty()) || k == "stack_roles")
            .then(|| role_set(x))
            .flatten()
        {
            sets.insert(path, set);
        } else if x.is_null() {
            // Nothing recorded there (a reason not given): not a change worth a line.
        } else if is_diff(x) {
            diffs.insert(path, x.clone());
        } else if x.is_object() && !x.as_object().is_some_and(|o| o.is_empty()) {
            split(&path, x, sets, diffs, rest);
        } else {
            rest.insert(path, x.clone());
        }
    }
}

/// What an event did, in words: role sets compared as sets (`+ Admin on Mobile App`), org
/// roles as moves, a request's diff as what it asks for (a decision keeps the diff it decided
/// in `before`: that is what was approved or rejected, not a removal), then the other fields
/// as `field: old → new`.
pub fn event_words(before: Option<&Value>, after: Option<&Value>, names: &Names) -> Vec<String> {
    let (mut bs, mut bd, mut br) = (BTreeMap::new(), BTreeMap::new(), serde_json::Map::new());
    let (mut as_, mut ad, mut ar) = (BTreeMap::new(), BTreeMap::new(), serde_json::Map::new());
    if let Some(v) = before {
        split("", v, &mut bs, &mut bd, &mut br);
    }
    if let Some(v) = after {
        split("", v, &mut as_, &mut ad, &mut ar);
    }
    let mut out = Vec::new();
    // Role sets: what the after has that the before had not, and the reverse.
    let paths: BTreeSet<&String> = bs.keys().chain(as_.keys()).collect();
    let empty = BTreeSet::new();
    for p in paths {
        let (b, a) = (bs.get(p).unwrap_or(&empty), as_.get(p).unwrap_or(&empty));
        for (s, r) in a.difference(b) {
            out.push(format!("+ {}", names.role(s, r)));
        }
        for (s, r) in b.difference(a) {
            out.push(format!("− {}", names.role(s, r)));
        }
    }
    // A request's diff: what it asks for (now), or asked for before when it changed.
    let paths: BTreeSet<&String> = bd.keys().chain(ad.keys()).collect();
    for p in paths {
        match (bd.get(p), ad.get(p)) {
            (Some(b), Some(a)) if a == b => {}
            (Some(b), Some(a)) => {
                out.push("asked for:".into());
                out.extend(diff_words(b, names).into_iter().map(|l| format!("  {l}")));
                out.push("asks for now:".into());
                out.extend(diff_words(a, names).into_iter().map(|l| format!("  {l}")));
            }
            (Some(d), None) => {
                // A decision keeps the diff it decided: say which way it went.
                let head = match after.and_then(|a| a.get("state")).and_then(Value::as_str) {
                    Some("approved") => "approved, so granted:",
                    Some("rejected") => "rejected, so not granted:",
                    _ => "the request:",
                };
                out.push(head.into());
                out.extend(diff_words(d, names).into_iter().map(|l| format!("  {l}")));
            }
            (None, Some(d)) => {
                out.push("asks for:".into());
                out.extend(diff_words(d, names).into_iter().map(|l| format!("  {l}")));
            }
            (None, None) => {}
        }
    }
    // Org roles read as roles; everything else as before.
    let mut rest = change_words(
        Some(&Value::Object(br)).filter(|_| before.is_some()),
        Some(&Value::Object(ar)).filter(|_| after.is_some()),
    );
    for l in &mut rest {
        let (sign, body) = match (l.strip_prefix("+ "), l.strip_prefix("- ")) {
            (Some(b), _) => ("+ ", b),
            (_, Some(b)) => ("− ", b),
            _ => ("", l.as_str()),
        };
        for key in ["org_role: ", "granted.org_role: "] {
            if let Some(v) = body.strip_prefix(key) {
                *l = format!("{sign}org role: {}", role_words(v));
                break;
            }
        }
    }
    out.extend(rest);
    out
}

/// `"member" → "admin"` as `Member → Admin`.
fn role_words(v: &str) -> String {
    v.split(" → ")
        .map(|r| {
            let r = r.trim_matches('"');
            org_role(Some(&Value::String(r.to_string())))
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Names {
        let mut n = Names::default();
        n.learn(&[serde_json::from_value(json!({
            "uid": "st_1821", "name": "Mobile App",
            "roles": [{"uid": "admin", "name": "Admin", "builtin": true},
                      {"uid": "role_e975", "name": "Release Manager"}]
        }))
        .unwrap()]);
        n
    }

    /// Issue 24, item 6: an approval reads as what was approved, by name, not as removals.
    #[test]
    fn an_approval_reads_as_what_it_granted() {
        let before = json!({"state": "pending", "version": 2, "diff": {
            "org_role_from": "member", "org_role_to": "member",
            "stack_gains": [{"stack_uid": "st_1821", "role_uid": "admin"}],
            "stack_losses": []}});
        let after = json!({"state": "approved", "version": 2, "reason": null});
        let w = event_words(Some(&before), Some(&after), &names());
        assert!(w.contains(&"approved, so granted:".to_string()), "{w:?}");
        assert!(w.contains(&"  + Admin on Mobile App".to_string()), "{w:?}");
        assert!(w.iter().all(|l| !l.contains("st_1821")), "{w:?}");
        assert!(w.iter().all(|l| !l.starts_with("- ")), "{w:?}");
        assert!(
            w.contains(&"state: \"pending\" → \"approved\"".to_string()),
            "{w:?}"
        );
    }

    /// Adding one role is one `+`, not a swap by list position.
    #[test]
    fn role_sets_are_compared_as_sets() {
        let before = json!({"org_role": "member", "stack_roles": [
            {"stack_uid": "st_1821", "role_uid": "developer"},
            {"stack_uid": "st_1821", "role_uid": "role_e975"}]});
        let after = json!({"org_role": "admin", "stack_roles": [
            {"stack_uid": "st_1821", "role_uid": "admin"},
            {"stack_uid": "st_1821", "role_uid": "developer"},
            {"stack_uid": "st_1821", "role_uid": "role_e975"}]});
        let w = event_words(Some(&before), Some(&after), &names());
        assert_eq!(
            w,
            vec![
                "+ Admin on Mobile App".to_string(),
                "org role: Member → Admin".to_string()
            ]
        );
    }

    #[test]
    fn granted_access_and_a_new_request_read_by_name() {
        let before =
            json!({"state": "active", "granted": {"org_role": "member", "stack_roles": []}});
        let after = json!({"state": "active", "granted": {"org_role": "member", "stack_roles": [
            {"stack_uid": "st_1821", "role_uid": "role_e975"}]}});
        let w = event_words(Some(&before), Some(&after), &names());
        assert_eq!(w, vec!["+ Release Manager on Mobile App".to_string()]);
        // Access granted for the first time: its org role reads as a role too.
        let before = json!({"state": "pending", "granted": null});
        let w = event_words(Some(&before), Some(&after), &names());
        assert!(w.contains(&"+ org role: Member".to_string()), "{w:?}");
        let opened = json!({"member_id": "u1", "kind": "access_increase", "version": 1, "diff": {
            "org_role_from": "member", "org_role_to": "admin",
            "stack_gains": [{"stack_uid": "st_9", "role_uid": "developer"}], "stack_losses": []}});
        let w = event_words(None, Some(&opened), &names());
        assert!(
            w.contains(&"  org role: Member → Admin".to_string()),
            "{w:?}"
        );
        // An unknown stack keeps its uid; a built-in role still has its name.
        assert!(w.contains(&"  + Developer on st_9".to_string()), "{w:?}");
    }
}
