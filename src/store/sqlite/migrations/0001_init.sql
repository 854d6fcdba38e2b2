-- scimdesk schema, version 1: accounts, organizations, memberships, SCIM users and groups,
-- group members, tokens and the audit log. Later migrations (stacks, roles, mappings,
-- approvals) add tables and columns; they never rewrite these in place.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL COLLATE NOCASE UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE organizations (
    id                        INTEGER PRIMARY KEY,
    uid                       TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    scim_enabled              INTEGER NOT NULL DEFAULT 0,
    sso_role_mapping          INTEGER NOT NULL DEFAULT 0,
    approval_provision        INTEGER NOT NULL DEFAULT 1,
    approval_access_increase  INTEGER NOT NULL DEFAULT 1,
    approval_deprovision      INTEGER NOT NULL DEFAULT 0,
    -- userName must be an email equal to the primary email; off only for clients whose
    -- userName is not an email (generic SCIM testers, some Entra attribute mappings).
    user_name_is_email        INTEGER NOT NULL DEFAULT 1,
    created_at                TEXT NOT NULL
);

-- The membership id doubles as the SCIM User id: one membership per account and org.
CREATE TABLE memberships (
    id          TEXT PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'active', 'rejected', 'deprovisioned', 'removed')),
    source      TEXT NOT NULL CHECK (source IN ('scim', 'manual')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, account_id)
);
CREATE INDEX memberships_account ON memberships(account_id);

-- The canonical resource JSON never holds id, meta or a password; promoted columns serve
-- filters, sorting and uniqueness.
CREATE TABLE scim_users (
    id             TEXT PRIMARY KEY REFERENCES memberships(id) ON DELETE CASCADE,
    org_id         INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_name      TEXT NOT NULL COLLATE NOCASE,
    external_id    TEXT,
    display_name   TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    resource       TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    last_modified  TEXT NOT NULL,
    UNIQUE (org_id, user_name)
);
-- Paging in id order (the tie-breaker of every list) walks this index instead of sorting.
CREATE INDEX scim_users_org_id ON scim_users(org_id, id);
CREATE INDEX scim_users_external_id ON scim_users(org_id, external_id);
CREATE INDEX scim_users_display_name ON scim_users(org_id, display_name COLLATE NOCASE);

CREATE TABLE scim_groups (
    id             TEXT PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    display_name   TEXT NOT NULL COLLATE NOCASE,
    external_id    TEXT,
    resource       TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    last_modified  TEXT NOT NULL
);
CREATE INDEX scim_groups_org_id ON scim_groups(org_id, id);
CREATE INDEX scim_groups_display_name ON scim_groups(org_id, display_name);
CREATE INDEX scim_groups_external_id ON scim_groups(org_id, external_id);

-- One row per (group, user): adding or removing a member never rewrites the group.
CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES scim_users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members(user_id, group_id);

-- Secrets are stored as SHA-256 hashes; the id is the public part of the token.
CREATE TABLE scim_tokens (
    id            TEXT PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    secret_hash   BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX scim_tokens_org ON scim_tokens(org_id, created_at);

CREATE TABLE admin_tokens (
    id             TEXT PRIMARY KEY,
    membership_id  TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    label          TEXT NOT NULL,
    secret_hash    BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    last_used_at   TEXT,
    revoked_at     TEXT
);
CREATE INDEX admin_tokens_membership ON admin_tokens(membership_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    before  TEXT,
    after   TEXT
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
