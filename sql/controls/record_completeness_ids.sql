SELECT event_id, request_id, escalation_id
FROM events
WHERE request_id IS NULL OR model IS NULL OR provider IS NULL OR policy IS NULL
   OR config_version IS NULL OR "user" IS NULL OR team IS NULL
ORDER BY "timestamp", event_id
LIMIT $limit
