SELECT event_id, request_id, escalation_id
FROM escalations
WHERE status IN ('open', 'acknowledged')
  AND opened_at < $end - to_hours(CAST($max_open_hours AS BIGINT))
ORDER BY opened_at, escalation_id
LIMIT $limit
