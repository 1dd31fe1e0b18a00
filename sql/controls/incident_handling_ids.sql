SELECT event_id, request_id, escalation_id
FROM escalations
WHERE severity IN ('high', 'critical')
ORDER BY (status = 'open') DESC, opened_at, escalation_id
LIMIT $limit
