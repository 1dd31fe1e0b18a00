-- Escalations opened in the window, with their lifecycle. $severities/$min_severity_rank as in
-- No ORDER BY: it reads one lake partition at a time, and partitions are stored sorted by
-- (time, id), an order DuckDB keeps (preserve_insertion_order); sorting again would cost
-- a third of the export.
-- export_events.sql.
SELECT
    escalation_id AS id, opened_at, severity, status, reason, assignee, resolved_at,
    resolution_note, event_id, request_id
FROM read_parquet($files)
WHERE opened_at >= $start AND opened_at < $end
    AND list_position($severities, severity) >= $min_severity_rank
