-- The decision events a report covers: the window and the request's filters, as bound values.
-- An empty filter list means no filter; policy matches the deciding or any evaluated policy.
SELECT *
FROM read_parquet($files)
WHERE "timestamp" >= $start AND "timestamp" < $end
  AND (len($action::VARCHAR[]) = 0 OR list_contains($action::VARCHAR[], action))
  AND (len($result::VARCHAR[]) = 0 OR list_contains($result::VARCHAR[], result))
  AND (len($gateway::VARCHAR[]) = 0 OR list_contains($gateway::VARCHAR[], gateway))
  AND (len($consumer_group::VARCHAR[]) = 0
       OR list_contains($consumer_group::VARCHAR[], consumer_group))
  AND (len($team::VARCHAR[]) = 0 OR list_contains($team::VARCHAR[], team))
  AND (len($user::VARCHAR[]) = 0 OR list_contains($user::VARCHAR[], "user"))
  AND (len($model::VARCHAR[]) = 0 OR list_contains($model::VARCHAR[], model))
  AND (len($policy::VARCHAR[]) = 0
       OR list_contains($policy::VARCHAR[], policy)
       OR list_has_any($policy::VARCHAR[], list_transform(policies_evaluated, lambda p: p.name)))
  AND list_contains($severities::VARCHAR[], severity)
