//! Organizations, their SCIM settings and tokens on PostgreSQL: minting, listing, revoking
//! and authenticating tokens (checked in the database on every request, so a revocation
//! through any replica holds at once), readiness, the pool's figures and the rate limit's
//! shared tally.

use super::*;
use crate::scim::datetime;
use crate::store::secret::{self, ADMIN_TOKEN_PREFIX, SCIM_TOKEN_PREFIX};
use serde_json::json;
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(super) const ORG_COLUMNS: &str = "o.id, o.uid, o.name, o.scim_enabled, o.sso_role_mapping, \
    o.approval_provision, o.approval_access_increase, o.approval_deprovision, \
    o.user_name_is_email, o.created_at, o.audit_key";

pub(super) fn org_from_row(r: &PgRow) -> Result<Org, sqlx::Error> {
    Ok(Org {
        id: r.try_get("id")?,
        uid: r.try_get("uid")?,
        name: r.try_get("name")?,
        scim: ScimSettings {
            enabled: r.try_get("scim_enabled")?,
            sso_role_mapping: r.try_get("sso_role_mapping")?,
            approval: ApprovalPolicy {
                provision: r.try_get("approval_provision")?,
                access_increase: r.try_get("approval_access_increase")?,
                deprovision: r.try_get("approval_deprovision")?,
            },
            user_name_is_email: r.try_get("user_name_is_email")?,
        },
        created_at: r.try_get("created_at")?,
        audit_key: AuditKey(r.try_get("audit_key")?),
    })
}

impl PgStore {
    async fn org_where(&self, condition: &'static str, arg: &str) -> StoreResult<Option<Org>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE {condition}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| org_from_row(&r)).transpose().map_err(db_err)
    }

    /// The row of token `id` in `table` (`scim_tokens` or `admin_tokens`) that `sql` finds,
    /// if the presented secret matches its hash (compared in constant time); refreshes the
    /// token's last-used time. Read on every request, never cached: a token revoked through
    /// another replica is refused on the next request.
    async fn verified_token(
        &self,
        sql: &'static str,
        table: &'static str,
        id: &str,
        presented: &str,
    ) -> StoreResult<Option<PgRow>> {
        let Some(row) = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let hash: Vec<u8> = row.try_get("secret_hash").map_err(db_err)?;
        if !secret::verify(presented, &hash) {
            return Ok(None);
        }
        let used: Option<String> = row.try_get("last_used_at").map_err(db_err)?;
        self.touch_token(table, id, used.as_deref()).await;
        Ok(Some(row))
    }

    async fn touch_token(&self, table: &'static str, id: &str, last_used: Option<&str>) {
        let now = datetime::now();
        if !super::last_use_is_stale(last_used, now) {
            return;
        }
        let sql = match table {
            "scim_tokens" => "UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2",
            _ => "UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2",
        };
        // Losing a last-used refresh is harmless; failing the request for it would not be.
        if let Err(e) = sqlx::query(sql)
            .bind(datetime::format(now))
            .bind(id)
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %db_err(e), "could not record a token's last use");
        }
    }
}

const SCIM_TOKEN_SQL: &str = "SELECT t.secret_hash, t.last_used_at, t.label,
        o.id, o.uid, o.name, o.scim_enabled, o.sso_role_mapping, o.approval_provision,
        o.approval_access_increase, o.approval_deprovision, o.user_name_is_email, o.created_at,
        o.audit_key
    FROM scim_tokens t JOIN organizations o ON o.id = t.org_id
    WHERE t.id = $1 AND t.revoked_at IS NULL";

const ADMIN_TOKEN_SQL: &str = "SELECT t.secret_hash, t.last_used_at,
        m.id AS membership_id, m.role, m.state, a.email,
        o.id, o.uid, o.name, o.scim_enabled, o.sso_role_mapping, o.approval_provision,
        o.approval_access_increase, o.approval_deprovision, o.user_name_is_email, o.created_at,
        o.audit_key
    FROM admin_tokens t
    JOIN memberships m ON m.id = t.membership_id
    JOIN accounts a ON a.id = m.account_id
    JOIN organizations o ON o.id = m.org_id
    WHERE t.id = $1 AND t.revoked_at IS NULL";

/// Adds request counts and reads back the totals, in one statement. Rows are upserted in key
/// order, so that two replicas adding up the same tokens lock their rows in the same order
/// and never deadlock; the windows that have ended go at the same time (a few rows a minute).
const ADD_REQUEST_COUNTS_SQL: &str = "WITH ended AS (
        DELETE FROM rate_limit_counts WHERE window_no < $4
    )
    INSERT INTO rate_limit_counts AS c (token_id, window_no, n)
    SELECT t, w, n FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(t, w, n)
    ORDER BY t, w
    ON CONFLICT (token_id, window_no) DO UPDATE SET n = c.n + excluded.n
    RETURNING token_id, window_no, n";

impl OrgStore for PgStore {
    async fn ready(&self) -> StoreResult<()> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT max(version)::bigint FROM scimdesk_schema")
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
        let found = found.unwrap_or(0);
        if found != SCHEMA_VERSION {
            return Err(StoreError::schema_mismatch(found, SCHEMA_VERSION));
        }
        Ok(())
    }

    fn stats(&self) -> StoreStats {
        let open = self.pool.size();
        let idle = self.pool.num_idle() as u32;
        StoreStats {
            connections_in_use: open.saturating_sub(idle),
            connections_idle: idle,
            connections_max: self.pool.options().get_max_connections(),
            writes_waiting: None,
        }
    }

    /// Any number of replicas may serve one PostgreSQL database.
    fn is_shared(&self) -> bool {
        true
    }

    async fn add_request_counts(&self, counts: &[RequestCount]) -> StoreResult<Vec<RequestCount>> {
        let Some(latest) = counts.iter().map(|c| c.window).max() else {
            return Ok(Vec::new());
        };
        let tokens: Vec<&str> = counts.iter().map(|c| c.token_id.as_str()).collect();
        let windows: Vec<i64> = counts.iter().map(|c| c.window as i64).collect();
        let ns: Vec<i64> = counts
            .iter()
            .map(|c| c.n.min(i64::MAX as u64) as i64)
            .collect();
        let rows = sqlx::query(ADD_REQUEST_COUNTS_SQL)
            .bind(&tokens)
            .bind(&windows)
            .bind(&ns)
            // The window before the latest stays: a replica whose clock is a little behind
            // may still be counting in it.
            .bind(latest as i64 - 1)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(RequestCount {
                    token_id: r.try_get("token_id")?,
                    window: r.try_get::<i64, _>("window_no")?.max(0) as u64,
                    n: r.try_get::<i64, _>("n")?.max(0) as u64,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_err)
    }

    async fn create_org(&self, name: &str, owner_email: &str) -> StoreResult<(Org, IssuedToken)> {
        let now = datetime::now_rfc3339();
        let mut tx = self.begin().await?;
        let uid = secret::new_hex_id(10);
        let audit_key = AuditKey(secret::new_hex_id(16));
        let org_id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (uid, name, created_at, audit_key)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&uid)
        .bind(name)
        .bind(&now)
        .bind(&audit_key.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let account = account_for(&mut tx, owner_email, &now).await?;
        let membership = secret::new_uuid();
        sqlx::query(
            "INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
             VALUES ($1, $2, $3, 'owner', 'active', 'manual', $4, $4)",
        )
        .bind(&membership)
        .bind(org_id)
        .bind(account)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let (token_id, token, hash) = secret::mint(ADMIN_TOKEN_PREFIX);
        let label = "owner token (org create)";
        sqlx::query(
            "INSERT INTO admin_tokens (id, membership_id, label, secret_hash, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, 'org create')",
        )
        .bind(&token_id)
        .bind(&membership)
        .bind(label)
        .bind(&hash)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        audit(
            &mut tx,
            org_id,
            "org create",
            "org.create",
            Some(&uid),
            None,
            Some(&json!({"name": name, "owner": owner_email, "admin_token_id": token_id})),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        let org = Org {
            id: org_id,
            uid,
            name: name.to_string(),
            scim: ScimSettings::default(),
            created_at: now.clone(),
            audit_key,
        };
        Ok((
            org,
            IssuedToken {
                id: token_id,
                label: label.to_string(),
                token,
                created_at: now,
            },
        ))
    }

    async fn org_by_uid(&self, uid: &str) -> StoreResult<Option<Org>> {
        self.org_where("o.uid = $1", uid).await
    }

    async fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>> {
        self.org_where("o.name = $1 ORDER BY o.id LIMIT 1", name)
            .await
    }

    async fn org_counts(&self, org_id: i64) -> StoreResult<OrgCounts> {
        let row = sqlx::query(
            "SELECT
               (SELECT coalesce(sum(n), 0)::bigint FROM membership_counts
                 WHERE org_id = $1 AND state IN ('active', 'pending')),
               (SELECT coalesce(sum(n), 0)::bigint FROM resource_counts
                 WHERE org_id = $1 AND kind = 'user'),
               (SELECT coalesce(sum(n), 0)::bigint FROM resource_counts
                 WHERE org_id = $1 AND kind = 'group'),
               (SELECT count(*) FROM scim_tokens WHERE org_id = $1 AND revoked_at IS NULL)",
        )
        .bind(org_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let n = |i: usize| row.try_get::<i64, _>(i).map(|v| v.max(0) as u64);
        Ok(OrgCounts {
            members: n(0).map_err(db_err)?,
            scim_users: n(1).map_err(db_err)?,
            scim_groups: n(2).map_err(db_err)?,
            scim_tokens: n(3).map_err(db_err)?,
        })
    }

    async fn update_scim_settings(
        &self,
        org_id: i64,
        patch: &ScimSettingsPatch,
        actor: &str,
    ) -> StoreResult<ScimSettings> {
        let mut tx = self.begin().await?;
        // The row lock makes two replicas' PATCHes merge one after the other.
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = $1 FOR UPDATE");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound("organization".into()))?;
        let org = org_from_row(&row).map_err(db_err)?;
        let before = org.scim;
        let after = before.patched(patch);
        if after != before {
            sqlx::query(
                "UPDATE organizations SET scim_enabled = $1, sso_role_mapping = $2,
                   approval_provision = $3, approval_access_increase = $4,
                   approval_deprovision = $5, user_name_is_email = $6
                 WHERE id = $7",
            )
            .bind(after.enabled)
            .bind(after.sso_role_mapping)
            .bind(after.approval.provision)
            .bind(after.approval.access_increase)
            .bind(after.approval.deprovision)
            .bind(after.user_name_is_email)
            .bind(org_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.settings.update",
                Some(&org.uid),
                Some(&before.to_json()),
                Some(&after.to_json()),
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(after)
    }

    async fn create_scim_token(
        &self,
        org_id: i64,
        label: &str,
        actor: &str,
    ) -> StoreResult<IssuedToken> {
        let now = datetime::now_rfc3339();
        let (id, token, hash) = secret::mint(SCIM_TOKEN_PREFIX);
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO scim_tokens (id, org_id, label, secret_hash, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(label)
        .bind(&hash)
        .bind(&now)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            crate::store::access_rules::name_taken(db_err(e), "a live SCIM token", label)
        })?;
        audit(
            &mut tx,
            org_id,
            actor,
            "scim.token.create",
            Some(&id),
            None,
            Some(&json!({"id": id, "label": label})),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(IssuedToken {
            id,
            label: label.to_string(),
            token,
            created_at: now,
        })
    }

    async fn create_admin_token(
        &self,
        org_id: i64,
        email: &str,
        label: &str,
        actor: &str,
    ) -> StoreResult<IssuedToken> {
        let now = datetime::now_rfc3339();
        let mut tx = self.begin().await?;
        let membership: Option<String> = sqlx::query_scalar(
            "SELECT m.id FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE m.org_id = $1 AND a.email_key = $2",
        )
        .bind(org_id)
        .bind(crate::scim::text::fold_address(email))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(membership) = membership else {
            return Err(StoreError::NotFound(format!(
                "{email} is not a member of this organization"
            )));
        };
        let (id, token, hash) = secret::mint(ADMIN_TOKEN_PREFIX);
        sqlx::query(
            "INSERT INTO admin_tokens (id, membership_id, label, secret_hash, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&membership)
        .bind(label)
        .bind(&hash)
        .bind(&now)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        audit(
            &mut tx,
            org_id,
            actor,
            "admin_token.create",
            Some(&id),
            None,
            Some(&json!({"id": id, "label": label, "member": membership, "email": email})),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(IssuedToken {
            id,
            label: label.to_string(),
            token,
            created_at: now,
        })
    }

    async fn list_scim_tokens(
        &self,
        org_id: i64,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<TokenInfo>> {
        admin::seq_page(
            self,
            "SELECT count(*) FROM scim_tokens WHERE org_id = $1 AND revoked_at IS NULL",
            "SELECT seq, id, label, created_at, last_used_at FROM scim_tokens
             WHERE org_id = $1 AND revoked_at IS NULL AND seq > $2
             ORDER BY seq LIMIT $3",
            (org_id, limit, cursor),
            |r| {
                Ok(TokenInfo {
                    id: r.try_get("id")?,
                    label: r.try_get("label")?,
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            },
        )
        .await
    }

    async fn revoke_scim_token(
        &self,
        org_id: i64,
        token_id: &str,
        actor: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // A conditional update: of two replicas revoking at once, one revokes and audits.
        let label: Option<String> = sqlx::query_scalar(
            "UPDATE scim_tokens SET revoked_at = $1
             WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL
             RETURNING label",
        )
        .bind(datetime::now_rfc3339())
        .bind(token_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(label) = label else {
            return Ok(false);
        };
        audit(
            &mut tx,
            org_id,
            actor,
            "scim.token.revoke",
            Some(token_id),
            Some(&json!({"id": token_id, "label": label})),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn authenticate_scim(&self, token: &str) -> StoreResult<Option<ScimPrincipal>> {
        let Some((id, presented)) = secret::parse(SCIM_TOKEN_PREFIX, token) else {
            return Ok(None);
        };
        let Some(row) = self
            .verified_token(SCIM_TOKEN_SQL, "scim_tokens", id, presented)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ScimPrincipal {
            org: org_from_row(&row).map_err(db_err)?,
            token_id: id.to_string(),
            label: row.try_get("label").map_err(db_err)?,
        }))
    }

    async fn authenticate_admin(&self, token: &str) -> StoreResult<Option<AdminPrincipal>> {
        let Some((id, presented)) = secret::parse(ADMIN_TOKEN_PREFIX, token) else {
            return Ok(None);
        };
        let Some(row) = self
            .verified_token(ADMIN_TOKEN_SQL, "admin_tokens", id, presented)
            .await?
        else {
            return Ok(None);
        };
        let role: String = row.try_get("role").map_err(db_err)?;
        let state: String = row.try_get("state").map_err(db_err)?;
        Ok(Some(AdminPrincipal {
            org: org_from_row(&row).map_err(db_err)?,
            membership_id: row.try_get("membership_id").map_err(db_err)?,
            email: row.try_get("email").map_err(db_err)?,
            role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            state: MemberState::parse(&state).unwrap_or(MemberState::Removed),
            token_id: id.to_string(),
        }))
    }

    async fn list_admin_tokens(
        &self,
        org_id: i64,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<AdminTokenInfo>> {
        admin::list_admin_tokens(self, org_id, limit, cursor).await
    }

    async fn revoke_admin_token(
        &self,
        org_id: i64,
        token_id: &str,
        actor: &str,
    ) -> StoreResult<bool> {
        admin::revoke_admin_token(self, org_id, token_id, actor).await
    }
}
