SELECT event_id, request_id, escalation_id
FROM events
WHERE severity IN ('high', 'critical')
ORDER BY (action = 'allow') DESC, "timestamp", event_id
LIMIT $limit
