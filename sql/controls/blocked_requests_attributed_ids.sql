SELECT event_id, request_id, escalation_id
FROM events
WHERE action = 'block'
ORDER BY (policy IS NULL OR result <> 'blocked') DESC, "timestamp", event_id
LIMIT $limit
