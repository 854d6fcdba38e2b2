//! Organizations, their SCIM settings and tokens on SQLite: minting, listing, revoking and
//! authenticating tokens (point reads on the reader's prepared statements), readiness and
//! the pool's figures.

use super::*;
use crate::scim::datetime;
use crate::store::secret::{self, ADMIN_TOKEN_PREFIX, SCIM_TOKEN_PREFIX};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

pub(super) fn org_from_row(r: &SqliteRow) -> Result<Org, sqlx::Error> {
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

/// The org's columns in [`ORG_COLUMNS`] order, from the table aliased `o`; a macro so that
/// the token lookups below are `&'static str` (the point reader keeps them prepared).
macro_rules! org_columns_o {
    () => {
        "o.id, o.uid, o.name, o.scim_enabled, o.sso_role_mapping, o.approval_provision,
         o.approval_access_increase, o.approval_deprovision, o.user_name_is_email, o.created_at,
         o.audit_key"
    };
}

/// A live SCIM token ?1: its hash and last use, its label, then its org's columns.
const SCIM_TOKEN_SQL: &str = concat!(
    "SELECT t.secret_hash, t.last_used_at, t.label, ",
    org_columns_o!(),
    " FROM scim_tokens t JOIN organizations o ON o.id = t.org_id
      WHERE t.id = ?1 AND t.revoked_at IS NULL"
);

/// A live admin token ?1: its hash and last use, its membership (id, role, state, email),
/// then its org's columns.
const ADMIN_TOKEN_SQL: &str = concat!(
    "SELECT t.secret_hash, t.last_used_at, m.id, m.role, m.state, a.email, ",
    org_columns_o!(),
    " FROM admin_tokens t
      JOIN memberships m ON m.id = t.membership_id
      JOIN accounts a ON a.id = m.account_id
      JOIN organizations o ON o.id = m.org_id
      WHERE t.id = ?1 AND t.revoked_at IS NULL"
);

/// An org from its [`ORG_COLUMNS`], in order.
fn org_from_cols(c: &[raw::Col]) -> StoreResult<Org> {
    let [
        id,
        uid,
        name,
        enabled,
        sso,
        provision,
        increase,
        deprovision,
        is_email,
        created,
        audit_key,
    ] = c
    else {
        return Err(StoreError::Db(format!("an org row of {} columns", c.len())));
    };
    Ok(Org {
        id: id.int()?,
        uid: uid.text()?.to_string(),
        name: name.text()?.to_string(),
        scim: ScimSettings {
            enabled: enabled.bool()?,
            sso_role_mapping: sso.bool()?,
            approval: ApprovalPolicy {
                provision: provision.bool()?,
                access_increase: increase.bool()?,
                deprovision: deprovision.bool()?,
            },
            user_name_is_email: is_email.bool()?,
        },
        created_at: created.text()?.to_string(),
        audit_key: AuditKey(audit_key.text()?.to_string()),
    })
}

pub(super) const ORG_COLUMNS: &str =
    "id, uid, name, scim_enabled, sso_role_mapping, approval_provision,
    approval_access_increase, approval_deprovision, user_name_is_email, created_at, audit_key";

impl SqliteStore {
    /// The columns after hash and last use that `sql` (a token lookup, see
    /// [`SCIM_TOKEN_SQL`]) finds for token `id`, if the presented secret matches its hash
    /// (compared in constant time); refreshes the token's last-used time. One point lookup
    /// for token and org, on this thread: authentication runs on every request.
    async fn verified_token(
        &self,
        sql: &'static str,
        table: &'static str,
        id: &str,
        presented: &str,
    ) -> StoreResult<Option<Vec<raw::Col>>> {
        let Some(mut row) = self.point_read(sql, &[id.into()])?.into_iter().next() else {
            return Ok(None);
        };
        let [hash, used, ..] = row.as_slice() else {
            return Err(StoreError::Db(format!(
                "a token row of {} columns",
                row.len()
            )));
        };
        if !secret::verify(presented, hash.blob()?) {
            return Ok(None);
        }
        self.touch_token(table, id, used.opt_text()?).await;
        Ok(Some(row.split_off(2)))
    }

    async fn touch_token(&self, table: &'static str, id: &str, last_used: Option<&str>) {
        let now = datetime::now();
        if !last_use_is_stale(last_used, now) {
            return;
        }
        let sql = match table {
            "scim_tokens" => "UPDATE scim_tokens SET last_used_at = ? WHERE id = ?",
            _ => "UPDATE admin_tokens SET last_used_at = ? WHERE id = ?",
        };
        // Losing a last-used refresh is harmless; failing the request for it would not be.
        let write = async {
            let mut tx = self.begin().await?;
            sqlx::query(sql)
                .bind(datetime::format(now))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)
        };
        if let Err(e) = write.await {
            tracing::warn!(error = %e, "could not record a token's last use");
        }
    }
}

impl OrgStore for SqliteStore {
    async fn ready(&self) -> StoreResult<()> {
        let found: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *self.read().await?)
            .await
            .map_err(db_err)?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::schema_mismatch(found, SCHEMA_VERSION));
        }
        Ok(())
    }

    fn stats(&self) -> StoreStats {
        let (lent, idle, size) = self.inner.reader.counts();
        StoreStats {
            connections_in_use: lent as u32,
            connections_idle: idle as u32,
            connections_max: size as u32,
            writes_waiting: Some(self.inner.writer.waiting()),
        }
    }

    /// One process serves a SQLite database: its own counts are the whole tally.
    fn is_shared(&self) -> bool {
        false
    }

    async fn add_request_counts(&self, _counts: &[RequestCount]) -> StoreResult<Vec<RequestCount>> {
        Ok(Vec::new())
    }

    async fn create_org(&self, name: &str, owner_email: &str) -> StoreResult<(Org, IssuedToken)> {
        let now = datetime::now_rfc3339();
        let mut tx = self.begin().await?;
        let uid = secret::new_hex_id(10);
        let audit_key = AuditKey(secret::new_hex_id(16));
        let org_id = sqlx::query(
            "INSERT INTO organizations (uid, name, created_at, audit_key) VALUES (?, ?, ?, ?)",
        )
        .bind(&uid)
        .bind(name)
        .bind(&now)
        .bind(&audit_key.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .last_insert_rowid();
        let account = account_for(&mut tx, owner_email, &now).await?;
        let membership = secret::new_uuid();
        sqlx::query(
            "INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
             VALUES (?, ?, ?, 'owner', 'active', 'manual', ?, ?)",
        )
        .bind(&membership)
        .bind(org_id)
        .bind(account)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let (token_id, token, hash) = secret::mint(ADMIN_TOKEN_PREFIX);
        let label = "owner token (org create)";
        sqlx::query(
            "INSERT INTO admin_tokens (id, membership_id, label, secret_hash, created_at, created_by)
             VALUES (?, ?, ?, ?, ?, 'org create')",
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
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE uid = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(uid)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(db_err)?;
        row.map(|r| org_from_row(&r)).transpose().map_err(db_err)
    }

    async fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>> {
        let sql =
            format!("SELECT {ORG_COLUMNS} FROM organizations WHERE name = ? ORDER BY id LIMIT 1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(db_err)?;
        row.map(|r| org_from_row(&r)).transpose().map_err(db_err)
    }

    async fn org_counts(&self, org_id: i64) -> StoreResult<OrgCounts> {
        let row = sqlx::query(
            "SELECT
               (SELECT count(*) FROM memberships WHERE org_id = ?1 AND state IN ('active', 'pending')),
               (SELECT count(*) FROM scim_users WHERE org_id = ?1),
               (SELECT count(*) FROM scim_groups WHERE org_id = ?1),
               (SELECT count(*) FROM scim_tokens WHERE org_id = ?1 AND revoked_at IS NULL)",
        )
        .bind(org_id)
        .fetch_one(&mut *self.read().await?)
        .await
        .map_err(db_err)?;
        let n = |i: usize| row.try_get::<i64, _>(i).map(|v| v as u64);
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
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
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
                "UPDATE organizations SET scim_enabled = ?, sso_role_mapping = ?,
                   approval_provision = ?, approval_access_increase = ?, approval_deprovision = ?,
                   user_name_is_email = ?
                 WHERE id = ?",
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
             VALUES (?, ?, ?, ?, ?, ?)",
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
             WHERE m.org_id = ? AND a.email_key = ?",
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
             VALUES (?, ?, ?, ?, ?, ?)",
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
        admin::rowid_page(
            self,
            "SELECT count(*) FROM scim_tokens WHERE org_id = ?1 AND revoked_at IS NULL",
            "SELECT rowid AS rid, id, label, created_at, last_used_at FROM scim_tokens
             WHERE org_id = ?1 AND revoked_at IS NULL AND rowid > ?2
             ORDER BY rowid LIMIT ?3",
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
        let label: Option<String> = sqlx::query_scalar(
            "SELECT label FROM scim_tokens WHERE id = ? AND org_id = ? AND revoked_at IS NULL",
        )
        .bind(token_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(label) = label else {
            return Ok(false);
        };
        sqlx::query("UPDATE scim_tokens SET revoked_at = ? WHERE id = ?")
            .bind(datetime::now_rfc3339())
            .bind(token_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
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
        let [label, org @ ..] = row.as_slice() else {
            return Err(StoreError::Db("an empty SCIM token row".into()));
        };
        Ok(Some(ScimPrincipal {
            org: org_from_cols(org)?,
            token_id: id.to_string(),
            label: label.text()?.to_string(),
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
        let [membership_id, role, state, email, org @ ..] = row.as_slice() else {
            return Err(StoreError::Db(format!(
                "an admin token row of {} columns",
                row.len()
            )));
        };
        Ok(Some(AdminPrincipal {
            org: org_from_cols(org)?,
            membership_id: membership_id.text()?.to_string(),
            email: email.text()?.to_string(),
            role: OrgRole::parse(role.text()?).unwrap_or(OrgRole::Member),
            state: MemberState::parse(state.text()?).unwrap_or(MemberState::Removed),
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
