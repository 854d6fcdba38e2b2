//! Rules about an org's settings and the addresses it is given, each in one place (issue 25:
//! the server, the CLI and review mode used to keep copies that had begun to disagree).

/// A warning about an org's SCIM settings: a stable `code` and what to do, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsWarning {
    pub code: &'static str,
    pub message: &'static str,
}

/// SSO role mapping and SCIM group mappings both assign roles: while SCIM is on, SSO role
/// mapping should be off.
pub const SSO_ROLE_MAPPING_WITH_SCIM: SettingsWarning = SettingsWarning {
    code: "sso_role_mapping_with_scim",
    message: "SSO role mapping is on while SCIM is on: both assign roles. Turn SSO role mapping \
              off and let SCIM group mappings assign roles.",
};

/// What is wrong with an org's SCIM settings, for the admin API, the console and review.
pub fn scim_warnings(scim_enabled: bool, sso_role_mapping: bool) -> Vec<SettingsWarning> {
    let mut w = Vec::new();
    if scim_enabled && sso_role_mapping {
        w.push(SSO_ROLE_MAPPING_WITH_SCIM);
    }
    w
}

/// Whether `s` reads as one email address: one `@` with something on each side, no
/// whitespace. The address an Owner is made with (`org create --owner`) and a userName where
/// the org holds userNames to be emails are both held to it.
pub fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_address_has_one_at_and_something_on_each_side() {
        assert!(is_email_address("a@b.example"));
        for bad in ["a.example", "@b", "a@", "a b@c", "a@b@c"] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }

    #[test]
    fn sso_role_mapping_warns_only_while_scim_is_on() {
        assert_eq!(scim_warnings(true, true), vec![SSO_ROLE_MAPPING_WITH_SCIM]);
        assert!(scim_warnings(false, true).is_empty());
        assert!(scim_warnings(true, false).is_empty());
    }
}
