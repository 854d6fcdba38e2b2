-- scimdesk schema, version 5: a trigram index over each membership's email and SCIM
-- displayName, so that a `/users?filter=` substring search looks up the matching members
-- instead of scanning every email and name of the org on every page.
--
-- The FTS5 row of a membership is keyed by `member_search_keys.k`, an INTEGER PRIMARY KEY,
-- because a membership's own id is text and its implicit rowid may change on VACUUM.
-- The text is `email` U+001F `displayName`: the separator never appears in a filter, so no
-- match spans the two.
-- IF NOT EXISTS and a full rebuild: a database whose user_version was set back runs this
-- again without harm.

CREATE TABLE IF NOT EXISTS member_search_keys (
    k          INTEGER PRIMARY KEY,
    member_id  TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE IF NOT EXISTS member_search USING fts5(text, tokenize = 'trigram');

DELETE FROM member_search;
DELETE FROM member_search_keys;
INSERT INTO member_search_keys (member_id) SELECT id FROM memberships;
INSERT INTO member_search (rowid, text)
    SELECT k.k, a.email || char(31) || coalesce(u.display_name, '')
    FROM member_search_keys k
    JOIN memberships m ON m.id = k.member_id
    JOIN accounts a ON a.id = m.account_id
    LEFT JOIN scim_users u ON u.id = m.id;

-- A SCIM membership is indexed when its SCIM User is written (in the same statement batch),
-- so that a create costs one index insert, not an insert and an update; a manual membership
-- (the Owner's) is indexed at once.
CREATE TRIGGER IF NOT EXISTS member_search_added AFTER INSERT ON memberships BEGIN
    INSERT INTO member_search_keys (member_id) VALUES (NEW.id);
    INSERT INTO member_search (rowid, text)
        SELECT (SELECT k FROM member_search_keys WHERE member_id = NEW.id),
               (SELECT email FROM accounts WHERE id = NEW.account_id) || char(31)
        WHERE NEW.source <> 'scim';
END;

CREATE TRIGGER IF NOT EXISTS member_search_removed AFTER DELETE ON memberships BEGIN
    DELETE FROM member_search
        WHERE rowid = (SELECT k FROM member_search_keys WHERE member_id = OLD.id);
    DELETE FROM member_search_keys WHERE member_id = OLD.id;
END;

CREATE TRIGGER IF NOT EXISTS member_search_account_moved AFTER UPDATE OF account_id ON memberships
    WHEN NEW.account_id IS NOT OLD.account_id
BEGIN
    UPDATE member_search SET text =
        (SELECT email FROM accounts WHERE id = NEW.account_id) || char(31)
            || coalesce((SELECT display_name FROM scim_users WHERE id = NEW.id), '')
        WHERE rowid = (SELECT k FROM member_search_keys WHERE member_id = NEW.id);
END;

CREATE TRIGGER IF NOT EXISTS member_search_user_added AFTER INSERT ON scim_users BEGIN
    INSERT OR REPLACE INTO member_search (rowid, text) VALUES (
        (SELECT k FROM member_search_keys WHERE member_id = NEW.id),
        (SELECT a.email FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.id = NEW.id) || char(31) || coalesce(NEW.display_name, ''));
END;

CREATE TRIGGER IF NOT EXISTS member_search_user_renamed AFTER UPDATE OF display_name ON scim_users
    WHEN NEW.display_name IS NOT OLD.display_name
BEGIN
    UPDATE member_search SET text =
        (SELECT a.email FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.id = NEW.id) || char(31) || coalesce(NEW.display_name, '')
        WHERE rowid = (SELECT k FROM member_search_keys WHERE member_id = NEW.id);
END;

CREATE TRIGGER IF NOT EXISTS member_search_user_removed AFTER DELETE ON scim_users BEGIN
    UPDATE member_search SET text =
        (SELECT a.email FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.id = OLD.id) || char(31)
        WHERE rowid = (SELECT k FROM member_search_keys WHERE member_id = OLD.id);
END;

CREATE TRIGGER IF NOT EXISTS member_search_email_changed AFTER UPDATE OF email ON accounts
    WHEN NEW.email IS NOT OLD.email
BEGIN
    UPDATE member_search SET text = NEW.email || char(31)
            || coalesce((SELECT u.display_name FROM member_search_keys k
                         JOIN scim_users u ON u.id = k.member_id
                         WHERE k.k = member_search.rowid), '')
        WHERE rowid IN (SELECT k.k FROM member_search_keys k
                        JOIN memberships m ON m.id = k.member_id
                        WHERE m.account_id = NEW.id);
END;
