-- Maintenance orders: an engineer's work on a machine, linked to the stop or the Andon
-- ticket it came from. Times are ms since the epoch (UTC).

CREATE TABLE maintenance_orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    machine_id       TEXT NOT NULL,
    line_id          TEXT NOT NULL,
    problem          TEXT NOT NULL,
    priority         TEXT NOT NULL,            -- low | medium | high | critical
    assignee         TEXT,
    state            TEXT NOT NULL,            -- open | in_progress | done | cancelled
    downtime_id      INTEGER REFERENCES downtime_events (id),
    ticket_id        INTEGER REFERENCES andon_tickets (id),
    created_at_ms    INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    started_at_ms    INTEGER,
    started_by       TEXT,
    completed_at_ms  INTEGER,
    completed_by     TEXT,
    cancelled_at_ms  INTEGER,
    cancelled_by     TEXT,
    minutes_spent    INTEGER NOT NULL DEFAULT 0  -- sum of the notes' minutes
);
CREATE INDEX maintenance_orders_machine ON maintenance_orders (machine_id, created_at_ms);
CREATE INDEX maintenance_orders_line ON maintenance_orders (line_id, created_at_ms);
CREATE INDEX maintenance_orders_state ON maintenance_orders (state);
CREATE INDEX maintenance_orders_downtime ON maintenance_orders (downtime_id);
CREATE INDEX maintenance_orders_ticket ON maintenance_orders (ticket_id);

-- Every transition (created, started, completed, cancelled) and note, append-only.
CREATE TABLE maintenance_order_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id  INTEGER NOT NULL REFERENCES maintenance_orders (id),
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX maintenance_order_events_order ON maintenance_order_events (order_id, id);

-- Work notes, with the time they account for.
CREATE TABLE maintenance_notes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       INTEGER NOT NULL REFERENCES maintenance_orders (id),
    at_ms          INTEGER NOT NULL,
    author         TEXT NOT NULL,
    note           TEXT NOT NULL,
    minutes_spent  INTEGER
);
CREATE INDEX maintenance_notes_order ON maintenance_notes (order_id, id);

-- Parts used, per note.
CREATE TABLE maintenance_parts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id   INTEGER NOT NULL REFERENCES maintenance_notes (id),
    order_id  INTEGER NOT NULL REFERENCES maintenance_orders (id),
    part      TEXT NOT NULL,
    quantity  REAL NOT NULL
);
CREATE INDEX maintenance_parts_order ON maintenance_parts (order_id, id);
