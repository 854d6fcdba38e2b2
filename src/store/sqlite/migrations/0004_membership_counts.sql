-- scimdesk schema, version 4: how many memberships each org has in each state, kept by
-- triggers, so that an unfiltered `/users` page answers its total without counting 100,000
-- index entries every time.
-- IF NOT EXISTS and a full recount: a database whose user_version was set back runs this
-- again without harm.

CREATE TABLE IF NOT EXISTS membership_counts (
    org_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    state   TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (org_id, state)
) WITHOUT ROWID;

DELETE FROM membership_counts;
INSERT INTO membership_counts (org_id, state, n)
    SELECT org_id, state, count(*) FROM memberships GROUP BY org_id, state;

CREATE TRIGGER IF NOT EXISTS memberships_counted AFTER INSERT ON memberships BEGIN
    INSERT INTO membership_counts (org_id, state, n) VALUES (NEW.org_id, NEW.state, 1)
        ON CONFLICT (org_id, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS memberships_uncounted AFTER DELETE ON memberships BEGIN
    UPDATE membership_counts SET n = n - 1 WHERE org_id = OLD.org_id AND state = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS memberships_recounted AFTER UPDATE OF org_id, state ON memberships
    WHEN NEW.org_id IS NOT OLD.org_id OR NEW.state IS NOT OLD.state
BEGIN
    UPDATE membership_counts SET n = n - 1 WHERE org_id = OLD.org_id AND state = OLD.state;
    INSERT INTO membership_counts (org_id, state, n) VALUES (NEW.org_id, NEW.state, 1)
        ON CONFLICT (org_id, state) DO UPDATE SET n = n + 1;
END;
