-- How many SCIM users and groups each org has, kept by triggers, so that an unfiltered list
-- answers totalResults without counting 100,000 index entries on every page.
CREATE TABLE resource_counts (
    org_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    n       INTEGER NOT NULL,
    PRIMARY KEY (org_id, kind)
) WITHOUT ROWID;

INSERT INTO resource_counts (org_id, kind, n)
    SELECT o.id, 'user', (SELECT count(*) FROM scim_users u WHERE u.org_id = o.id)
    FROM organizations o;
INSERT INTO resource_counts (org_id, kind, n)
    SELECT o.id, 'group', (SELECT count(*) FROM scim_groups g WHERE g.org_id = o.id)
    FROM organizations o;

CREATE TRIGGER scim_users_counted AFTER INSERT ON scim_users BEGIN
    INSERT INTO resource_counts (org_id, kind, n) VALUES (NEW.org_id, 'user', 1)
        ON CONFLICT (org_id, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER scim_users_uncounted AFTER DELETE ON scim_users BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE org_id = OLD.org_id AND kind = 'user';
END;
CREATE TRIGGER scim_groups_counted AFTER INSERT ON scim_groups BEGIN
    INSERT INTO resource_counts (org_id, kind, n) VALUES (NEW.org_id, 'group', 1)
        ON CONFLICT (org_id, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER scim_groups_uncounted AFTER DELETE ON scim_groups BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE org_id = OLD.org_id AND kind = 'group';
END;
