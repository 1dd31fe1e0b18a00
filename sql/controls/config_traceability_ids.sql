SELECT e.event_id, e.request_id, e.escalation_id
FROM events AS e
LEFT JOIN (SELECT DISTINCT config_version FROM config_versions) AS c USING (config_version)
WHERE c.config_version IS NULL
ORDER BY e."timestamp", e.event_id
LIMIT $limit
