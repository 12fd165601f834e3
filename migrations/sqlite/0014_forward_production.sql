-- Edge store-and-forward of production management (docs/edge.md): products, jobs and
-- their events, rejects, checklist templates, filled checklists, handover notes, and
-- maintenance orders with their events, notes and parts are queued in `forward_outbox`
-- like the tables of 0011_forward.sql, on four streams (`jobs`, `rejects`, `checklists`,
-- `maintenance`) so that a row is never applied before the row it names.
--
-- On a central, `forward_ids` maps an edge's row ids to the central's own, per entity
-- (`job`, `reject`, `downtime`, `maintenance_order`, …): rows that name other rows by id
-- (a job's events, a checklist's template, an order's stop) are written with the
-- central's ids.

CREATE TABLE forward_ids (
    edge       TEXT NOT NULL,
    entity     TEXT NOT NULL,
    edge_id    INTEGER NOT NULL,
    central_id INTEGER NOT NULL,
    PRIMARY KEY (edge, entity, edge_id)
) WITHOUT ROWID;

CREATE TRIGGER forward_products_insert AFTER INSERT ON products
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'product', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('code', NEW.code, 'name', NEW.name, 'ideal_cycle_ms', NEW.ideal_cycle_ms, 'machine_cycles', NEW.machine_cycles, 'updated_at_ms', NEW.updated_at_ms, 'updated_by', NEW.updated_by) AS p);
END;

CREATE TRIGGER forward_products_update AFTER UPDATE ON products
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'product', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('code', NEW.code, 'name', NEW.name, 'ideal_cycle_ms', NEW.ideal_cycle_ms, 'machine_cycles', NEW.machine_cycles, 'updated_at_ms', NEW.updated_at_ms, 'updated_by', NEW.updated_by) AS p);
END;

CREATE TRIGGER forward_jobs_insert AFTER INSERT ON jobs
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'job', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'product_code', NEW.product_code, 'target', NEW.target, 'planned_start_ms', NEW.planned_start_ms, 'planned_end_ms', NEW.planned_end_ms, 'notes', NEW.notes, 'state', NEW.state, 'created_at_ms', NEW.created_at_ms, 'created_by', NEW.created_by) AS p);
END;

CREATE TRIGGER forward_jobs_update AFTER UPDATE ON jobs
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'job', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'product_code', NEW.product_code, 'target', NEW.target, 'planned_start_ms', NEW.planned_start_ms, 'planned_end_ms', NEW.planned_end_ms, 'notes', NEW.notes, 'state', NEW.state, 'created_at_ms', NEW.created_at_ms, 'created_by', NEW.created_by) AS p);
END;

CREATE TRIGGER forward_job_events_insert AFTER INSERT ON job_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'job_event', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('job_id', NEW.job_id, 'seq', NEW.seq, 'at_ms', NEW.at_ms, 'state', NEW.state, 'actor', NEW.actor) AS p);
END;

CREATE TRIGGER forward_job_events_update AFTER UPDATE ON job_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'job_event', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('job_id', NEW.job_id, 'seq', NEW.seq, 'at_ms', NEW.at_ms, 'state', NEW.state, 'actor', NEW.actor) AS p);
END;

CREATE TRIGGER forward_rejects_insert AFTER INSERT ON rejects
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'reject', 'rejects', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'machine_id', NEW.machine_id, 'defect', NEW.defect, 'quantity', NEW.quantity, 'note', NEW.note, 'at_ms', NEW.at_ms, 'logged_by', NEW.logged_by, 'logged_at_ms', NEW.logged_at_ms, 'voided_at_ms', NEW.voided_at_ms, 'voided_by', NEW.voided_by, 'void_reason', NEW.void_reason) AS p);
END;

CREATE TRIGGER forward_rejects_update AFTER UPDATE ON rejects
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'reject', 'rejects', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'machine_id', NEW.machine_id, 'defect', NEW.defect, 'quantity', NEW.quantity, 'note', NEW.note, 'at_ms', NEW.at_ms, 'logged_by', NEW.logged_by, 'logged_at_ms', NEW.logged_at_ms, 'voided_at_ms', NEW.voided_at_ms, 'voided_by', NEW.voided_by, 'void_reason', NEW.void_reason) AS p);
END;

CREATE TRIGGER forward_checklist_templates_insert AFTER INSERT ON checklist_templates
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'checklist_template', 'checklists', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'name', NEW.name, 'version', NEW.version, 'items', NEW.items, 'blocks_job_start', NEW.blocks_job_start, 'andon_category', NEW.andon_category, 'andon_priority', NEW.andon_priority, 'created_at_ms', NEW.created_at_ms, 'created_by', NEW.created_by, 'updated_at_ms', NEW.updated_at_ms, 'updated_by', NEW.updated_by, 'deleted_at_ms', NEW.deleted_at_ms, 'deleted_by', NEW.deleted_by) AS p);
END;

CREATE TRIGGER forward_checklist_templates_update AFTER UPDATE ON checklist_templates
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'checklist_template', 'checklists', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'name', NEW.name, 'version', NEW.version, 'items', NEW.items, 'blocks_job_start', NEW.blocks_job_start, 'andon_category', NEW.andon_category, 'andon_priority', NEW.andon_priority, 'created_at_ms', NEW.created_at_ms, 'created_by', NEW.created_by, 'updated_at_ms', NEW.updated_at_ms, 'updated_by', NEW.updated_by, 'deleted_at_ms', NEW.deleted_at_ms, 'deleted_by', NEW.deleted_by) AS p);
END;

CREATE TRIGGER forward_checklists_insert AFTER INSERT ON checklists
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'checklist', 'checklists', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'template_id', NEW.template_id, 'template_name', NEW.template_name, 'template_version', NEW.template_version, 'blocks_job_start', NEW.blocks_job_start, 'shift_name', NEW.shift_name, 'shift_start_ms', NEW.shift_start_ms, 'shift_end_ms', NEW.shift_end_ms, 'result', NEW.result, 'items', NEW.items, 'filled_by', NEW.filled_by, 'filled_at_ms', NEW.filled_at_ms, 'ticket_id', NEW.ticket_id) AS p);
END;

CREATE TRIGGER forward_checklists_update AFTER UPDATE ON checklists
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'checklist', 'checklists', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'template_id', NEW.template_id, 'template_name', NEW.template_name, 'template_version', NEW.template_version, 'blocks_job_start', NEW.blocks_job_start, 'shift_name', NEW.shift_name, 'shift_start_ms', NEW.shift_start_ms, 'shift_end_ms', NEW.shift_end_ms, 'result', NEW.result, 'items', NEW.items, 'filled_by', NEW.filled_by, 'filled_at_ms', NEW.filled_at_ms, 'ticket_id', NEW.ticket_id) AS p);
END;

CREATE TRIGGER forward_handover_notes_insert AFTER INSERT ON handover_notes
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'handover_note', 'checklists', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'shift_name', NEW.shift_name, 'shift_start_ms', NEW.shift_start_ms, 'shift_end_ms', NEW.shift_end_ms, 'note', NEW.note, 'written_by', NEW.written_by, 'written_at_ms', NEW.written_at_ms) AS p);
END;

CREATE TRIGGER forward_handover_notes_update AFTER UPDATE ON handover_notes
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'handover_note', 'checklists', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'line_id', NEW.line_id, 'shift_name', NEW.shift_name, 'shift_start_ms', NEW.shift_start_ms, 'shift_end_ms', NEW.shift_end_ms, 'note', NEW.note, 'written_by', NEW.written_by, 'written_at_ms', NEW.written_at_ms) AS p);
END;

CREATE TRIGGER forward_maintenance_orders_insert AFTER INSERT ON maintenance_orders
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_order', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'machine_id', NEW.machine_id, 'line_id', NEW.line_id, 'problem', NEW.problem, 'priority', NEW.priority, 'assignee', NEW.assignee, 'state', NEW.state, 'downtime_id', NEW.downtime_id, 'ticket_id', NEW.ticket_id, 'created_at_ms', NEW.created_at_ms, 'created_by', NEW.created_by, 'started_at_ms', NEW.started_at_ms, 'started_by', NEW.started_by, 'completed_at_ms', NEW.completed_at_ms, 'completed_by', NEW.completed_by, 'cancelled_at_ms', NEW.cancelled_at_ms, 'cancelled_by', NEW.cancelled_by, 'minutes_spent', NEW.minutes_spent) AS p);
END;

CREATE TRIGGER forward_maintenance_orders_update AFTER UPDATE ON maintenance_orders
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_order', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'machine_id', NEW.machine_id, 'line_id', NEW.line_id, 'problem', NEW.problem, 'priority', NEW.priority, 'assignee', NEW.assignee, 'state', NEW.state, 'downtime_id', NEW.downtime_id, 'ticket_id', NEW.ticket_id, 'created_at_ms', NEW.created_at_ms, 'created_by', NEW.created_by, 'started_at_ms', NEW.started_at_ms, 'started_by', NEW.started_by, 'completed_at_ms', NEW.completed_at_ms, 'completed_by', NEW.completed_by, 'cancelled_at_ms', NEW.cancelled_at_ms, 'cancelled_by', NEW.cancelled_by, 'minutes_spent', NEW.minutes_spent) AS p);
END;

CREATE TRIGGER forward_maintenance_order_events_insert AFTER INSERT ON maintenance_order_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_event', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'order_id', NEW.order_id, 'at_ms', NEW.at_ms, 'kind', NEW.kind, 'actor', NEW.actor, 'detail', NEW.detail) AS p);
END;

CREATE TRIGGER forward_maintenance_order_events_update AFTER UPDATE ON maintenance_order_events
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_event', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'order_id', NEW.order_id, 'at_ms', NEW.at_ms, 'kind', NEW.kind, 'actor', NEW.actor, 'detail', NEW.detail) AS p);
END;

CREATE TRIGGER forward_maintenance_notes_insert AFTER INSERT ON maintenance_notes
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_note', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'order_id', NEW.order_id, 'at_ms', NEW.at_ms, 'author', NEW.author, 'note', NEW.note, 'minutes_spent', NEW.minutes_spent) AS p);
END;

CREATE TRIGGER forward_maintenance_notes_update AFTER UPDATE ON maintenance_notes
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_note', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'order_id', NEW.order_id, 'at_ms', NEW.at_ms, 'author', NEW.author, 'note', NEW.note, 'minutes_spent', NEW.minutes_spent) AS p);
END;

CREATE TRIGGER forward_maintenance_parts_insert AFTER INSERT ON maintenance_parts
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_part', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'note_id', NEW.note_id, 'order_id', NEW.order_id, 'part', NEW.part, 'quantity', NEW.quantity) AS p);
END;

CREATE TRIGGER forward_maintenance_parts_update AFTER UPDATE ON maintenance_parts
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'maintenance_part', 'maintenance', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('id', NEW.id, 'note_id', NEW.note_id, 'order_id', NEW.order_id, 'part', NEW.part, 'quantity', NEW.quantity) AS p);
END;

CREATE TRIGGER forward_products_delete AFTER DELETE ON products
WHEN (SELECT enabled FROM forward_capture WHERE id = 1) = 1
BEGIN
    INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
    SELECT 'product_deleted', 'jobs', p, length(p), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT json_object('code', OLD.code) AS p);
END;
