SELECT event_id, request_id, escalation_id
FROM events
WHERE NOT list_contains(list_transform(policies_evaluated, lambda p: p.name), $policy_name)
ORDER BY "timestamp", event_id
LIMIT $limit
