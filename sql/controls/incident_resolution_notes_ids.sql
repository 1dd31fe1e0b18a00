SELECT event_id, request_id, escalation_id
FROM escalations
WHERE status IN ('resolved', 'dismissed')
  AND (resolution_note IS NULL OR trim(resolution_note) = '' OR resolved_at IS NULL)
ORDER BY opened_at, escalation_id
LIMIT $limit
