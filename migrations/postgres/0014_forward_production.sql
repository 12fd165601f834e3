-- PostgreSQL twin of migrations/sqlite/0014_forward_production.sql: production management
-- forwarded from an edge, and the central's map of an edge's row ids to its own.

CREATE TABLE forward_ids (
    edge       TEXT NOT NULL,
    entity     TEXT NOT NULL,
    edge_id    BIGINT NOT NULL,
    central_id BIGINT NOT NULL,
    PRIMARY KEY (edge, entity, edge_id)
);

-- A deleted product, as its code (TG_ARGV[0]: the kind, TG_ARGV[1]: the stream).
CREATE FUNCTION forward_capture_product_deleted() RETURNS trigger AS $$
DECLARE
    p TEXT;
BEGIN
    IF (SELECT enabled FROM forward_capture WHERE id = 1) = 1 THEN
        p := jsonb_build_object('code', OLD.code)::text;
        INSERT INTO forward_outbox (kind, stream, payload, bytes, created_ms)
        VALUES (TG_ARGV[0], TG_ARGV[1], p, length(p), CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER forward_products AFTER INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('product', '=jobs');

CREATE TRIGGER forward_jobs AFTER INSERT OR UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('job', '=jobs');

CREATE TRIGGER forward_job_events AFTER INSERT OR UPDATE ON job_events
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('job_event', '=jobs');

CREATE TRIGGER forward_rejects AFTER INSERT OR UPDATE ON rejects
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('reject', '=rejects');

CREATE TRIGGER forward_checklist_templates AFTER INSERT OR UPDATE ON checklist_templates
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('checklist_template', '=checklists');

CREATE TRIGGER forward_checklists AFTER INSERT OR UPDATE ON checklists
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('checklist', '=checklists');

CREATE TRIGGER forward_handover_notes AFTER INSERT OR UPDATE ON handover_notes
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('handover_note', '=checklists');

CREATE TRIGGER forward_maintenance_orders AFTER INSERT OR UPDATE ON maintenance_orders
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('maintenance_order', '=maintenance');

CREATE TRIGGER forward_maintenance_order_events AFTER INSERT OR UPDATE ON maintenance_order_events
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('maintenance_event', '=maintenance');

CREATE TRIGGER forward_maintenance_notes AFTER INSERT OR UPDATE ON maintenance_notes
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('maintenance_note', '=maintenance');

CREATE TRIGGER forward_maintenance_parts AFTER INSERT OR UPDATE ON maintenance_parts
    FOR EACH ROW EXECUTE FUNCTION forward_capture_row('maintenance_part', '=maintenance');

CREATE TRIGGER forward_products_delete AFTER DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION forward_capture_product_deleted('product_deleted', 'jobs');
