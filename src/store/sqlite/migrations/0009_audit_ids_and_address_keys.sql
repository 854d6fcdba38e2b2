-- Schema version 9, issue 23 items 7 and 10.
--
-- Each org's own audit event ids. The log's rows keep one
-- sequence for the server; an org sees them through a permutation keyed by its `audit_key`
-- (see `domain::audit_ids`), so that no org learns from its ids how much the others write.
-- 128 random bits per org, made here for the orgs that exist and at creation for new ones.
ALTER TABLE organizations ADD COLUMN audit_key TEXT NOT NULL DEFAULT '';
UPDATE organizations SET audit_key = lower(hex(randomblob(16)));

-- Accounts are one per address in its folded form (`scim::text::fold_address`: NFKC and
-- Unicode lowercase), so that `José@x` and `josé@x` are one account, which ASCII-only NOCASE
-- did not see. Filled here in ASCII lowercase; the binary folds the other addresses in the
-- same transaction (`store::address_keys`), then the index holds.
ALTER TABLE accounts ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE accounts SET email_key = lower(email);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);
