SELECT event_id, request_id, escalation_id
FROM escalations
WHERE assignee IS NULL OR trim(assignee) = ''
ORDER BY opened_at, escalation_id
LIMIT $limit
