-- Schema version 8: a name points one way. Stack names are unique per org, role names per
-- stack and the labels of live SCIM tokens per org, compared trimmed and without regard to
-- (ASCII) case; the database holds it, racing creates included. Duplicates made before are
-- renamed first, each with its uid (the oldest, and built-in roles, keep their names), and
-- the renames are audited like an admin's.

INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
  SELECT s.org_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'scimdesk (schema version 8)',
         'stack.update', s.uid, json_object('name', s.name),
         json_object('name', s.name || ' (' || s.uid || ')')
  FROM stacks s
  WHERE EXISTS (SELECT 1 FROM stacks o WHERE o.org_id = s.org_id
                AND lower(trim(o.name)) = lower(trim(s.name)) AND o.id < s.id);
UPDATE stacks SET name = name || ' (' || uid || ')'
  WHERE EXISTS (SELECT 1 FROM stacks o WHERE o.org_id = stacks.org_id
                AND lower(trim(o.name)) = lower(trim(stacks.name)) AND o.id < stacks.id);
CREATE UNIQUE INDEX IF NOT EXISTS stacks_org_name_unique ON stacks(org_id, lower(trim(name)));

INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
  SELECT s.org_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'scimdesk (schema version 8)',
         'stack.role.update', s.uid, json_object('uid', r.uid, 'name', r.name),
         json_object('uid', r.uid, 'name', r.name || ' (' || r.uid || ')', 'builtin', json('false'))
  FROM stack_roles r JOIN stacks s ON s.id = r.stack_id
  WHERE r.builtin = 0 AND EXISTS (SELECT 1 FROM stack_roles o WHERE o.stack_id = r.stack_id
        AND lower(trim(o.name)) = lower(trim(r.name))
        AND (o.builtin = 1 OR o.created_at < r.created_at
             OR (o.created_at = r.created_at AND o.uid < r.uid)));
UPDATE stack_roles SET name = name || ' (' || uid || ')'
  WHERE builtin = 0 AND EXISTS (SELECT 1 FROM stack_roles o WHERE o.stack_id = stack_roles.stack_id
        AND lower(trim(o.name)) = lower(trim(stack_roles.name))
        AND (o.builtin = 1 OR o.created_at < stack_roles.created_at
             OR (o.created_at = stack_roles.created_at AND o.uid < stack_roles.uid)));
CREATE UNIQUE INDEX IF NOT EXISTS stack_roles_name_unique ON stack_roles(stack_id, lower(trim(name)));

INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
  SELECT t.org_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'scimdesk (schema version 8)',
         'scim.token.relabel', t.id, json_object('id', t.id, 'label', t.label),
         json_object('id', t.id, 'label', t.label || ' (' || t.id || ')')
  FROM scim_tokens t
  WHERE t.revoked_at IS NULL AND EXISTS (SELECT 1 FROM scim_tokens o WHERE o.org_id = t.org_id
        AND o.revoked_at IS NULL AND lower(trim(o.label)) = lower(trim(t.label))
        AND o.rowid < t.rowid);
UPDATE scim_tokens SET label = label || ' (' || id || ')'
  WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM scim_tokens o WHERE o.org_id = scim_tokens.org_id
        AND o.revoked_at IS NULL AND lower(trim(o.label)) = lower(trim(scim_tokens.label))
        AND o.rowid < scim_tokens.rowid);
CREATE UNIQUE INDEX IF NOT EXISTS scim_tokens_label_unique ON scim_tokens(org_id, lower(trim(label)))
  WHERE revoked_at IS NULL;
