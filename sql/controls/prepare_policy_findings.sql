-- Every policy finding (a verdict other than pass) with the ids a reviewer cross-references.
CREATE TEMP TABLE IF NOT EXISTS policy_findings AS
WITH verdicts AS (
    SELECT event_id, request_id, escalation_id, "timestamp", action,
           unnest(policies_evaluated, recursive := true)
    FROM events
)
SELECT event_id, request_id, escalation_id, "timestamp", action, name, verdict
FROM verdicts
WHERE verdict <> 'pass'
