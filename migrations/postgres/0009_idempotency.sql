-- PostgreSQL twin of migrations/sqlite/0009_idempotency.sql.
-- Answers to writes sent with an `Idempotency-Key` (operator actions a tablet may send
-- again after a dropped connection or from its offline queue): one row per key and user.
-- A row without a status is a request being applied. Rows older than the key lifetime
-- (24 h) are ignored and deleted as new keys arrive. Times are ms since the epoch (UTC).
CREATE TABLE idempotency_keys (
    idem_key      TEXT NOT NULL,
    username      TEXT NOT NULL,
    -- hex SHA-256 of method, path and body
    fingerprint   TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    status        BIGINT,
    content_type  TEXT,
    body          BYTEA,
    PRIMARY KEY (idem_key, username)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at_ms);
