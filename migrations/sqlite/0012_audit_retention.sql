-- Audit retention: the log stays append-only, except that the retention job may delete entries
-- older than a cutoff it writes here inside its own transaction (and removes before committing).
CREATE TABLE audit_purge (before_ms INTEGER NOT NULL);
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.at_ms >= COALESCE((SELECT MAX(before_ms) FROM audit_purge), -9223372036854775808)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
