SELECT e.event_id, e.request_id, s.escalation_id
FROM events AS e
LEFT JOIN escalations AS s ON s.event_id = e.event_id
WHERE e.action = 'escalate'
ORDER BY (s.escalation_id IS NOT NULL), e."timestamp", e.event_id
LIMIT $limit
