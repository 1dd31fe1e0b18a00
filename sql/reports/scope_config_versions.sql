-- Configuration versions created before the window's end (the history a report can trace
-- events to), with `in_window` marking the changes made during the window. Partitions written
-- before versions carried `policy_definitions` read it as null (union by name).
SELECT *, created_at >= $start AS in_window
FROM (
    SELECT * FROM read_parquet($files, union_by_name = true)
    UNION ALL BY NAME
    SELECT NULL::STRUCT(policy VARCHAR, version VARCHAR, description VARCHAR)[]
        AS policy_definitions
    WHERE false
)
WHERE created_at < $end
  AND (len($gateway::VARCHAR[]) = 0 OR list_contains($gateway::VARCHAR[], gateway))
