-- Escalations a report covers: opened in the window; with event filters, only those of the
-- covered events.
SELECT e.*
FROM read_parquet($files) AS e
WHERE e.opened_at >= $start AND e.opened_at < $end
  AND list_contains($severities::VARCHAR[], e.severity)
  AND (NOT $filtered OR e.event_id IN (SELECT event_id FROM events))
