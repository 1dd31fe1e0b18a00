SELECT event_id, request_id, escalation_id
FROM events
WHERE "user" IS NULL OR team IS NULL OR gateway IS NULL OR consumer_group IS NULL
   OR model IS NULL OR provider IS NULL
ORDER BY "timestamp", event_id
LIMIT $limit
