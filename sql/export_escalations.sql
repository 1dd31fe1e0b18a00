-- Escalations opened in the window, with their lifecycle. $severities/$min_severity_rank as in
-- export_events.sql.
SELECT
    escalation_id AS id, opened_at, severity, status, reason, assignee, resolved_at,
    resolution_note, event_id, request_id
FROM read_parquet($files)
WHERE opened_at >= $start AND opened_at < $end
    AND list_position($severities, severity) >= $min_severity_rank
ORDER BY opened_at, escalation_id
