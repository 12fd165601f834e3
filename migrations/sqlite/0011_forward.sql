-- Edge store-and-forward (docs/edge.md).
--
-- On an edge, every row written to the forwarded tables is queued in `forward_outbox` by a
-- trigger, in the same transaction as the row itself: nothing is recorded without being
-- queued. The triggers only queue while `forward_capture.enabled` is 1, which `ms5 serve`
-- sets at start from whether `[forward]` is configured. Each queued record is the row as
-- JSON after the write (column names as keys), so a later record of the same row carries
-- everything an earlier one did.
--
-- On a central, `forward_applied` holds the key (edge, seq) of every record applied, so a
-- replay is never applied twice, and `forward_tickets` maps an edge's ticket ids to the
-- central's own.

CREATE TABLE forward_capture (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL,
    samples INTEGER NOT NULL         -- raw tag samples too (`forward.raw_samples`)
);
INSERT INTO forward_capture (id, enabled, samples) VALUES (1, 0, 0);

-- Records waiting for the central's acknowledgement, in the order they were recorded.
CREATE TABLE forward_outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,     -- interval | counts | downtime | sample | ticket | ticket_event | audit
    stream         TEXT NOT NULL,     -- order is kept within a stream: a machine, `andon`, `audit`, `tag:…`
    payload        TEXT NOT NULL,     -- the row as JSON
    bytes          INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    refusals       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    quarantined_ms INTEGER             -- set: refused too often, waits for an admin
);
CREATE INDEX forward_outbox_queue ON forward_outbox (quarantined_ms, seq);

-- Central: every record applied, by its idempotency key; `id` is the order applied.
CREATE TABLE forward_applied (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    edge       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    stream     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    applied_ms INTEGER NOT NULL,
    UNIQUE (edge, seq)
);

-- Central: an edge's ticket id → the central's ticket id.
CREATE TABLE forward_tickets (
    edge           TEXT NOT NULL,
    edge_ticket_id INTEGER NOT NULL,
    ticket_id      INTEGER NOT NULL REFERENCES andon_tickets (id),
    PRIMARY KEY (edge, edge_ticket_id)
);

CREATE TRIGGER forward_machine_state_intervals_insert AFTER INSERT ON machine_state_intervals
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'interval', NEW.machine_id, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('machine_id', NEW.machine_id, 'start_ms', NEW.start_ms, 'end_ms', NEW.end_ms, 'state', NEW.state, 'micro_stop', NEW.micro_stop) AS p);
END;

CREATE TRIGGER forward_machine_state_intervals_update AFTER UPDATE ON machine_state_intervals
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'interval', NEW.machine_id, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('machine_id', NEW.machine_id, 'start_ms', NEW.start_ms, 'end_ms', NEW.end_ms, 'state', NEW.state, 'micro_stop', NEW.micro_stop) AS p);
END;

CREATE TRIGGER forward_production_counts_insert AFTER INSERT ON production_counts
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'counts', NEW.machine_id, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('machine_id', NEW.machine_id, 'minute_ms', NEW.minute_ms, 'product', NEW.product, 'total', NEW.total, 'good', NEW.good, 'ideal_ms', NEW.ideal_ms) AS p);
END;

CREATE TRIGGER forward_production_counts_update AFTER UPDATE ON production_counts
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'counts', NEW.machine_id, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('machine_id', NEW.machine_id, 'minute_ms', NEW.minute_ms, 'product', NEW.product, 'total', NEW.total, 'good', NEW.good, 'ideal_ms', NEW.ideal_ms) AS p);
END;

CREATE TRIGGER forward_downtime_events_insert AFTER INSERT ON downtime_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'downtime', NEW.machine_id, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'machine_id', NEW.machine_id, 'line_id', NEW.line_id, 'start_ms', NEW.start_ms, 'end_ms', NEW.end_ms, 'reason', NEW.reason, 'micro_stop', NEW.micro_stop, 'classified_reason', NEW.classified_reason, 'classified_comment', NEW.classified_comment, 'classified_by', NEW.classified_by, 'classified_at_ms', NEW.classified_at_ms) AS p);
END;

CREATE TRIGGER forward_downtime_events_update AFTER UPDATE ON downtime_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'downtime', NEW.machine_id, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'machine_id', NEW.machine_id, 'line_id', NEW.line_id, 'start_ms', NEW.start_ms, 'end_ms', NEW.end_ms, 'reason', NEW.reason, 'micro_stop', NEW.micro_stop, 'classified_reason', NEW.classified_reason, 'classified_comment', NEW.classified_comment, 'classified_by', NEW.classified_by, 'classified_at_ms', NEW.classified_at_ms) AS p);
END;

CREATE TRIGGER forward_tag_samples_insert AFTER INSERT ON tag_samples
WHEN (SELECT enabled + samples FROM forward_capture WHERE id = 1) = 2
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'sample', 'tag:' || NEW.tag, p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('tag', NEW.tag, 'ts_ms', NEW.ts_ms, 'value', NEW.value, 'quality', NEW.quality) AS p);
END;

CREATE TRIGGER forward_andon_tickets_insert AFTER INSERT ON andon_tickets
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'ticket', 'andon', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'machine_id', NEW.machine_id, 'category', NEW.category, 'priority', NEW.priority, 'source', NEW.source, 'description', NEW.description, 'state', NEW.state, 'level', NEW.level, 'deadline_fired', NEW.deadline_fired, 'raised_at_ms', NEW.raised_at_ms, 'raised_by', NEW.raised_by, 'acknowledged_at_ms', NEW.acknowledged_at_ms, 'acknowledged_by', NEW.acknowledged_by, 'resolved_at_ms', NEW.resolved_at_ms, 'resolved_by', NEW.resolved_by, 'cancelled_at_ms', NEW.cancelled_at_ms, 'cancelled_by', NEW.cancelled_by, 'downtime_machine_id', NEW.downtime_machine_id, 'downtime_start_ms', NEW.downtime_start_ms, 'assignee', NEW.assignee) AS p);
END;

CREATE TRIGGER forward_andon_tickets_update AFTER UPDATE ON andon_tickets
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'ticket', 'andon', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'machine_id', NEW.machine_id, 'category', NEW.category, 'priority', NEW.priority, 'source', NEW.source, 'description', NEW.description, 'state', NEW.state, 'level', NEW.level, 'deadline_fired', NEW.deadline_fired, 'raised_at_ms', NEW.raised_at_ms, 'raised_by', NEW.raised_by, 'acknowledged_at_ms', NEW.acknowledged_at_ms, 'acknowledged_by', NEW.acknowledged_by, 'resolved_at_ms', NEW.resolved_at_ms, 'resolved_by', NEW.resolved_by, 'cancelled_at_ms', NEW.cancelled_at_ms, 'cancelled_by', NEW.cancelled_by, 'downtime_machine_id', NEW.downtime_machine_id, 'downtime_start_ms', NEW.downtime_start_ms, 'assignee', NEW.assignee) AS p);
END;

CREATE TRIGGER forward_andon_events_insert AFTER INSERT ON andon_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'ticket_event', 'andon', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'ticket_id', NEW.ticket_id, 'at_ms', NEW.at_ms, 'kind', NEW.kind, 'level', NEW.level, 'actor', NEW.actor, 'detail', NEW.detail) AS p);
END;

CREATE TRIGGER forward_audit_log_insert AFTER INSERT ON audit_log
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'audit', 'audit', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'at_ms', NEW.at_ms, 'actor', NEW.actor, 'action', NEW.action, 'target', NEW.target, 'outcome', NEW.outcome, 'source', NEW.source, 'details', NEW.details) AS p);
END;
