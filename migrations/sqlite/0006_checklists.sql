-- Shift-start checklists (templates per line, filled checklists) and handover notes.
-- Times are ms since the epoch (UTC); a shift occurrence is kept as its name and its
-- first and last instants, as the plant calendar gave them when the row was written.

-- What a line's operators check at shift start. `items` is a JSON array of
-- {key, label, kind, min?, max?, unit?, required}. Every change raises `version`;
-- deleted templates are kept (marked) so filled checklists keep their origin.
CREATE TABLE checklist_templates (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id          TEXT NOT NULL,
    name             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    items            TEXT NOT NULL,
    blocks_job_start INTEGER NOT NULL,
    andon_category   TEXT,                    -- quality | safety; NULL: no ticket on failure
    andon_priority   TEXT,
    created_at_ms    INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    updated_by       TEXT NOT NULL,
    deleted_at_ms    INTEGER,
    deleted_by       TEXT
);
-- One live template per name and line.
CREATE UNIQUE INDEX checklist_templates_line_name ON checklist_templates (line_id, name)
    WHERE deleted_at_ms IS NULL;

-- A filled checklist: a copy of the template version's items, each with its answer and
-- outcome (pass | fail | missing | skipped), and the result (passed | failed).
CREATE TABLE checklists (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id          TEXT NOT NULL,
    template_id      INTEGER NOT NULL REFERENCES checklist_templates (id),
    template_name    TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    blocks_job_start INTEGER NOT NULL,
    shift_name       TEXT NOT NULL,
    shift_start_ms   INTEGER NOT NULL,
    shift_end_ms     INTEGER NOT NULL,
    result           TEXT NOT NULL,
    items            TEXT NOT NULL,
    filled_by        TEXT NOT NULL,
    filled_at_ms     INTEGER NOT NULL,
    ticket_id        INTEGER REFERENCES andon_tickets (id)
);
CREATE INDEX checklists_line_shift ON checklists (line_id, shift_start_ms, template_id);
CREATE INDEX checklists_line_filled ON checklists (line_id, filled_at_ms);

-- What one shift leaves the next, per line.
CREATE TABLE handover_notes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id          TEXT NOT NULL,
    shift_name       TEXT NOT NULL,
    shift_start_ms   INTEGER NOT NULL,
    shift_end_ms     INTEGER NOT NULL,
    note             TEXT NOT NULL,
    written_by       TEXT NOT NULL,
    written_at_ms    INTEGER NOT NULL
);
CREATE INDEX handover_notes_line_shift ON handover_notes (line_id, shift_start_ms);
