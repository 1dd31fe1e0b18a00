-- How many deciding policies the interventions of a report have: the sample's strata across
-- policies.
SELECT count(DISTINCT policy) AS policies
FROM events
WHERE action <> 'allow'
