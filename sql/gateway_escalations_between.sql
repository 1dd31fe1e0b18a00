-- Escalations opened in the half-open range [start, end), as the gateway database holds them.
SELECT
    escalation_id, event_id, request_id, opened_at, severity, reason, status, assignee,
    resolved_at, resolution_note
FROM escalations
WHERE opened_at >= :start AND opened_at < :end
ORDER BY opened_at, escalation_id
