-- Audit retention: the log stays append-only, except that the retention job may delete entries
-- older than a cutoff it writes here inside its own transaction (and removes before committing).
CREATE TABLE audit_purge (before_ms BIGINT NOT NULL);
CREATE FUNCTION audit_log_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.at_ms < (SELECT MAX(before_ms) FROM audit_purge) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
DROP TRIGGER audit_log_no_delete ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_delete();
