//! The demo organization behind `serve --demo`: created once, found again on restart. The
//! full demo data (stacks, groups, users) belongs to the organization-model work; this makes
//! an org "Acme" with SCIM enabled and a SCIM token.

use crate::store::{Org, ScimSettingsPatch, Store, StoreResult};

pub const DEMO_ORG_NAME: &str = "Acme";
pub const DEMO_OWNER: &str = "owner@acme.example";

/// What a newcomer needs; the tokens exist only on the run that created the org.
#[derive(Debug, Clone)]
pub struct DemoOrg {
    pub org: Org,
    pub fresh: Option<DemoSecrets>,
}

#[derive(Clone)]
pub struct DemoSecrets {
    pub admin_token: String,
    pub scim_token: String,
}

impl std::fmt::Debug for DemoSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoSecrets(<redacted>)")
    }
}

pub async fn ensure_demo<S: Store>(store: &S) -> StoreResult<DemoOrg> {
    if let Some(org) = store.org_by_name(DEMO_ORG_NAME).await? {
        return Ok(DemoOrg { org, fresh: None });
    }
    let (mut org, admin) = store.create_org(DEMO_ORG_NAME, DEMO_OWNER).await?;
    org.scim = store
        .update_scim_settings(
            org.id,
            &ScimSettingsPatch {
                enabled: Some(true),
                ..Default::default()
            },
            DEMO_OWNER,
        )
        .await?;
    let scim = store.create_scim_token(org.id, "demo", DEMO_OWNER).await?;
    Ok(DemoOrg {
        org,
        fresh: Some(DemoSecrets {
            admin_token: admin.token,
            scim_token: scim.token,
        }),
    })
}
