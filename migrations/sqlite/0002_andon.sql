-- Andon tickets, their history, pager deliveries, and operator classification of downtime.

CREATE TABLE andon_tickets (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id             TEXT NOT NULL,
    machine_id          TEXT,
    category            TEXT NOT NULL,
    priority            TEXT NOT NULL,
    source              TEXT NOT NULL,
    description         TEXT NOT NULL,
    state               TEXT NOT NULL,
    level               INTEGER NOT NULL DEFAULT 0,
    deadline_fired      INTEGER NOT NULL DEFAULT 0,
    raised_at_ms        INTEGER NOT NULL,
    raised_by           TEXT NOT NULL,
    acknowledged_at_ms  INTEGER,
    acknowledged_by     TEXT,
    resolved_at_ms      INTEGER,
    resolved_by         TEXT,
    cancelled_at_ms     INTEGER,
    cancelled_by        TEXT,
    -- auto-raised tickets: the downtime event that raised them (one ticket per event)
    downtime_machine_id TEXT,
    downtime_start_ms   INTEGER,
    UNIQUE (downtime_machine_id, downtime_start_ms)
);
CREATE INDEX andon_tickets_state ON andon_tickets (state);
CREATE INDEX andon_tickets_line_raised ON andon_tickets (line_id, raised_at_ms);

-- Every transition and escalation, append-only.
CREATE TABLE andon_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES andon_tickets (id),
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    level     INTEGER,
    actor     TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX andon_events_ticket ON andon_events (ticket_id, id);

-- Pager deliveries: one row per (ticket, action, level, target), so nothing is paged twice.
CREATE TABLE notifications (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id          INTEGER NOT NULL REFERENCES andon_tickets (id),
    action             TEXT NOT NULL,
    level              INTEGER NOT NULL,
    target             TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    state              TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_status        INTEGER,
    last_error         TEXT,
    created_at_ms      INTEGER NOT NULL,
    delivered_at_ms    INTEGER
);
CREATE INDEX notifications_state ON notifications (state);

ALTER TABLE downtime_events ADD COLUMN classified_reason TEXT;
ALTER TABLE downtime_events ADD COLUMN classified_comment TEXT;
ALTER TABLE downtime_events ADD COLUMN classified_by TEXT;
ALTER TABLE downtime_events ADD COLUMN classified_at_ms INTEGER;
CREATE INDEX downtime_events_machine ON downtime_events (machine_id, start_ms);
