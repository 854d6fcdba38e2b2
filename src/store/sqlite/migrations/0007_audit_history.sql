-- The history of one thing (a member, a group and its mapping, a stack, a request): the
-- audit log by target, newest first, and a member's approval requests by member.
CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log(org_id, target, id);
CREATE INDEX IF NOT EXISTS approval_requests_member ON approval_requests(member_id);
