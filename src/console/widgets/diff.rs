//! Access diffs in words and symbols (never in colour alone): `+` a gain, `−` a loss, `→` an
//! org role move. The console shows the server's diff; it never computes one.

use crate::client::{Access, Diff, StackRoleRef};
use crate::domain::access::OrgRole;
use crate::domain::approval::RequestKind;

pub fn role_name(r: Option<OrgRole>) -> String {
    match r {
        Some(r) => r.to_string(),
        None => "no membership".into(),
    }
}

pub fn stack_role(s: &StackRoleRef) -> String {
    format!("{} on {}", s.role_name, s.stack_name)
}

/// One line per change, gains first.
pub fn diff_lines(d: &Diff) -> Vec<String> {
    let mut out = Vec::new();
    if d.org_role_from != d.org_role_to {
        let sign = match (d.org_role_from, d.org_role_to) {
            (_, None) => "−",
            (None, Some(_)) => "+",
            (Some(a), Some(b)) if b > a => "+",
            _ => "−",
        };
        out.push(format!(
            "{sign} org role: {} → {}",
            role_name(d.org_role_from),
            role_name(d.org_role_to)
        ));
    }
    out.extend(d.stack_gains.iter().map(|s| format!("+ {}", stack_role(s))));
    out.extend(
        d.stack_losses
            .iter()
            .map(|s| format!("− {}", stack_role(s))),
    );
    if out.is_empty() {
        out.push("= no change".into());
    }
    out
}

/// A one-line summary for a table cell: "+Admin +2 −1".
pub fn diff_summary(d: &Diff) -> String {
    let mut parts = Vec::new();
    if d.org_role_from != d.org_role_to {
        parts.push(format!(
            "{}→{}",
            d.org_role_from
                .map_or("none".to_string(), |r| r.to_string()),
            d.org_role_to.map_or("none".to_string(), |r| r.to_string())
        ));
    }
    if !d.stack_gains.is_empty() {
        parts.push(format!("+{} stack", d.stack_gains.len()));
    }
    if !d.stack_losses.is_empty() {
        parts.push(format!("−{} stack", d.stack_losses.len()));
    }
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(" ")
    }
}

pub fn kind_words(k: RequestKind) -> &'static str {
    match k {
        RequestKind::Provision => "joins",
        RequestKind::AccessIncrease => "more access",
        RequestKind::Deprovision => "leaves",
    }
}

/// "Admin · Developer on Mobile App, Admin on Web" (or "no access").
pub fn access_words(a: Option<&Access>) -> String {
    match a {
        None => "no access".into(),
        Some(a) if a.stack_roles.is_empty() => a.org_role.to_string(),
        Some(a) => format!(
            "{} · {}",
            a.org_role,
            a.stack_roles
                .iter()
                .map(stack_role)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srr(stack: &str, role: &str) -> StackRoleRef {
        StackRoleRef {
            stack_uid: stack.to_lowercase(),
            stack_name: stack.into(),
            role_uid: role.to_lowercase(),
            role_name: role.into(),
        }
    }

    #[test]
    fn words_and_symbols_for_each_kind_of_change() {
        let d = Diff {
            org_role_from: None,
            org_role_to: Some(OrgRole::Member),
            stack_gains: vec![srr("Mobile App", "Developer")],
            stack_losses: vec![srr("Web", "Admin")],
        };
        assert_eq!(
            diff_lines(&d),
            [
                "+ org role: no membership → Member",
                "+ Developer on Mobile App",
                "− Admin on Web"
            ]
        );
        assert_eq!(diff_summary(&d), "none→Member +1 stack −1 stack");
        let down = Diff {
            org_role_from: Some(OrgRole::Admin),
            org_role_to: Some(OrgRole::Member),
            ..Default::default()
        };
        assert_eq!(diff_lines(&down), ["− org role: Admin → Member"]);
        let gone = Diff {
            org_role_from: Some(OrgRole::Member),
            org_role_to: None,
            ..Default::default()
        };
        assert_eq!(diff_lines(&gone), ["− org role: Member → no membership"]);
        assert_eq!(diff_lines(&Diff::default()), ["= no change"]);
        assert_eq!(diff_summary(&Diff::default()), "no change");
    }

    #[test]
    fn access_in_words() {
        assert_eq!(access_words(None), "no access");
        let a = Access {
            org_role: OrgRole::Admin,
            stack_roles: vec![srr("Mobile App", "Developer"), srr("Web", "Admin")],
        };
        assert_eq!(
            access_words(Some(&a)),
            "Admin · Developer on Mobile App, Admin on Web"
        );
    }
}
