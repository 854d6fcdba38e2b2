-- scimdesk schema, version 3: stacks and their roles, group mappings, the access granted to
-- each membership, and the approval queue. The org role in force stays in memberships.role.
-- IF NOT EXISTS throughout: a database whose user_version was set back (a backfill test does
-- so) runs this again without harm.

CREATE TABLE IF NOT EXISTS stacks (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    uid         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stacks_org ON stacks(org_id, name);

-- Built-in roles have the fixed uids admin, developer, content_manager in every stack.
CREATE TABLE IF NOT EXISTS stack_roles (
    stack_id    INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    uid         TEXT NOT NULL,
    name        TEXT NOT NULL,
    builtin     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (stack_id, uid)
) WITHOUT ROWID;

-- One mapping per SCIM group; deleting the group deletes it (the store reconciles the
-- members' access first, in the same transaction).
CREATE TABLE IF NOT EXISTS group_mappings (
    group_id    TEXT PRIMARY KEY REFERENCES scim_groups(id) ON DELETE CASCADE,
    org_id      INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    org_role    TEXT NOT NULL CHECK (org_role IN ('admin', 'member')),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS group_mappings_org ON group_mappings(org_id);

-- Stack roles are named by uid: stacks and roles are never deleted, and the uids are what
-- the domain compares.
CREATE TABLE IF NOT EXISTS group_mapping_roles (
    group_id   TEXT NOT NULL REFERENCES group_mappings(group_id) ON DELETE CASCADE,
    stack_uid  TEXT NOT NULL,
    role_uid   TEXT NOT NULL,
    PRIMARY KEY (group_id, stack_uid, role_uid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS granted_stack_roles (
    membership_id  TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    stack_uid      TEXT NOT NULL,
    role_uid       TEXT NOT NULL,
    PRIMARY KEY (membership_id, stack_uid, role_uid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS approval_requests (
    id          TEXT PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('provision', 'access_increase', 'deprovision')),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'superseded')),
    version     INTEGER NOT NULL,
    diff        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    reason      TEXT
);
-- At most one open request per member, and the hot path finds it by member.
CREATE UNIQUE INDEX IF NOT EXISTS approval_requests_open ON approval_requests(member_id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS approval_requests_queue ON approval_requests(org_id, state, created_at, id);

-- The last diff an approver rejected, so the same request is not asked again until the IdP
-- asks for more.
CREATE TABLE IF NOT EXISTS member_last_rejected (
    membership_id  TEXT PRIMARY KEY REFERENCES memberships(id) ON DELETE CASCADE,
    diff           TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS memberships_org_state ON memberships(org_id, state);
