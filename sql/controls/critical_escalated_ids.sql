SELECT event_id, request_id, escalation_id
FROM events
WHERE severity = 'critical'
ORDER BY (action NOT IN ('block', 'escalate')) DESC, "timestamp", event_id
LIMIT $limit
