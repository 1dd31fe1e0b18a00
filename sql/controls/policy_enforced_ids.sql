SELECT event_id, request_id, escalation_id
FROM policy_findings
WHERE name = $policy_name
ORDER BY (action = 'allow') DESC, "timestamp", event_id
LIMIT $limit
