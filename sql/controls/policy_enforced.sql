-- A policy's findings were acted on: wherever $policy_name did not pass, the gateway did not
-- simply allow the request.
SELECT
    coalesce(max(evaluated), 0) AS evaluated,
    coalesce(max(findings), 0) AS findings,
    coalesce(max(findings_allowed), 0) AS findings_allowed
FROM policy_evaluations
WHERE name = $policy_name
