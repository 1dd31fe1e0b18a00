-- High and critical findings were never simply allowed.
SELECT
    count(*) FILTER (WHERE severity IN ('high', 'critical')) AS high_or_critical,
    count(*) FILTER (WHERE severity IN ('high', 'critical') AND action = 'allow') AS allowed
FROM events
