-- Every policy's evaluations over the scope, in one pass over the events' nested verdicts
-- (reading them is the costly part, so the policy controls share this table).
CREATE TEMP TABLE IF NOT EXISTS policy_evaluations AS
WITH verdicts AS (
    SELECT action, unnest(policies_evaluated, recursive := true) FROM events
)
SELECT
    name,
    count(*) AS evaluated,
    count(*) FILTER (WHERE verdict <> 'pass') AS findings,
    count(*) FILTER (WHERE verdict <> 'pass' AND action = 'allow') AS findings_allowed
FROM verdicts
GROUP BY name
