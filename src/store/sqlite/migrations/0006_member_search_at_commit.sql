-- scimdesk schema, version 6: the member search index (version 5) is brought up to date once
-- per transaction, just before COMMIT, instead of by each write.
--
-- Writing an FTS5 table inside a statement that may need undoing makes FTS5 flush its pending
-- entries to a new segment at that statement: with the triggers of version 5, every SCIM
-- create wrote its own tiny segment, and merging them back cost more than the rest of the
-- create's SQL. Now the triggers only note which index rows are stale (by their key), and the
-- writer runs `member_search_refresh` (in `mod.rs`) before each COMMIT: one flush per batch.
-- The index is never seen stale: the refresh commits with the writes that made it stale.
--
-- A membership's text is still `email` U+001F `displayName` (displayName empty when it has no
-- SCIM User).

CREATE TABLE IF NOT EXISTS member_search_stale (
    k  INTEGER PRIMARY KEY
);

DROP TRIGGER IF EXISTS member_search_added;
DROP TRIGGER IF EXISTS member_search_removed;
DROP TRIGGER IF EXISTS member_search_account_moved;
DROP TRIGGER IF EXISTS member_search_user_added;
DROP TRIGGER IF EXISTS member_search_user_renamed;
DROP TRIGGER IF EXISTS member_search_user_removed;
DROP TRIGGER IF EXISTS member_search_email_changed;

CREATE TRIGGER member_search_added AFTER INSERT ON memberships BEGIN
    INSERT INTO member_search_keys (member_id) VALUES (NEW.id);
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k FROM member_search_keys WHERE member_id = NEW.id;
END;

CREATE TRIGGER member_search_removed AFTER DELETE ON memberships BEGIN
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k FROM member_search_keys WHERE member_id = OLD.id;
    DELETE FROM member_search_keys WHERE member_id = OLD.id;
END;

CREATE TRIGGER member_search_account_moved AFTER UPDATE OF account_id ON memberships
    WHEN NEW.account_id IS NOT OLD.account_id
BEGIN
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k FROM member_search_keys WHERE member_id = NEW.id;
END;

CREATE TRIGGER member_search_user_added AFTER INSERT ON scim_users BEGIN
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k FROM member_search_keys WHERE member_id = NEW.id;
END;

CREATE TRIGGER member_search_user_renamed AFTER UPDATE OF display_name ON scim_users
    WHEN NEW.display_name IS NOT OLD.display_name
BEGIN
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k FROM member_search_keys WHERE member_id = NEW.id;
END;

CREATE TRIGGER member_search_user_removed AFTER DELETE ON scim_users BEGIN
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k FROM member_search_keys WHERE member_id = OLD.id;
END;

CREATE TRIGGER member_search_email_changed AFTER UPDATE OF email ON accounts
    WHEN NEW.email IS NOT OLD.email
BEGIN
    INSERT OR IGNORE INTO member_search_stale (k)
        SELECT k.k FROM member_search_keys k JOIN memberships m ON m.id = k.member_id
        WHERE m.account_id = NEW.id;
END;
