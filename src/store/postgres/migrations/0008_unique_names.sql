-- Schema version 8, as SQLite's migration 8: stack names unique per org, role names per
-- stack, labels of live SCIM tokens per org, trimmed and without regard to (ASCII) case;
-- earlier duplicates renamed with their uid first (the oldest and built-in roles keep their
-- names), audited.

INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
  SELECT s.org_id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'scimdesk (schema version 8)', 'stack.update', s.uid, jsonb_build_object('name', s.name),
         jsonb_build_object('name', s.name || ' (' || s.uid || ')')
  FROM stacks s
  WHERE EXISTS (SELECT 1 FROM stacks o WHERE o.org_id = s.org_id
                AND lower(btrim(o.name)) = lower(btrim(s.name)) AND o.id < s.id);
UPDATE stacks s SET name = s.name || ' (' || s.uid || ')'
  WHERE EXISTS (SELECT 1 FROM stacks o WHERE o.org_id = s.org_id
                AND lower(btrim(o.name)) = lower(btrim(s.name)) AND o.id < s.id);
CREATE UNIQUE INDEX IF NOT EXISTS stacks_org_name_unique ON stacks (org_id, lower(btrim(name)));

INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
  SELECT s.org_id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'scimdesk (schema version 8)', 'stack.role.update', s.uid,
         jsonb_build_object('uid', r.uid, 'name', r.name),
         jsonb_build_object('uid', r.uid, 'name', r.name || ' (' || r.uid || ')', 'builtin', false)
  FROM stack_roles r JOIN stacks s ON s.id = r.stack_id
  WHERE NOT r.builtin AND EXISTS (SELECT 1 FROM stack_roles o WHERE o.stack_id = r.stack_id
        AND lower(btrim(o.name)) = lower(btrim(r.name))
        AND (o.builtin OR o.created_at < r.created_at
             OR (o.created_at = r.created_at AND o.uid < r.uid)));
UPDATE stack_roles r SET name = r.name || ' (' || r.uid || ')'
  WHERE NOT r.builtin AND EXISTS (SELECT 1 FROM stack_roles o WHERE o.stack_id = r.stack_id
        AND lower(btrim(o.name)) = lower(btrim(r.name))
        AND (o.builtin OR o.created_at < r.created_at
             OR (o.created_at = r.created_at AND o.uid < r.uid)));
CREATE UNIQUE INDEX IF NOT EXISTS stack_roles_name_unique ON stack_roles (stack_id, lower(btrim(name)));

INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
  SELECT t.org_id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'scimdesk (schema version 8)', 'scim.token.relabel', t.id,
         jsonb_build_object('id', t.id, 'label', t.label),
         jsonb_build_object('id', t.id, 'label', t.label || ' (' || t.id || ')')
  FROM scim_tokens t
  WHERE t.revoked_at IS NULL AND EXISTS (SELECT 1 FROM scim_tokens o WHERE o.org_id = t.org_id
        AND o.revoked_at IS NULL AND lower(btrim(o.label)) = lower(btrim(t.label))
        AND o.seq < t.seq);
UPDATE scim_tokens t SET label = t.label || ' (' || t.id || ')'
  WHERE t.revoked_at IS NULL AND EXISTS (SELECT 1 FROM scim_tokens o WHERE o.org_id = t.org_id
        AND o.revoked_at IS NULL AND lower(btrim(o.label)) = lower(btrim(t.label))
        AND o.seq < t.seq);
CREATE UNIQUE INDEX IF NOT EXISTS scim_tokens_label_unique ON scim_tokens (org_id, lower(btrim(label)))
  WHERE revoked_at IS NULL;
