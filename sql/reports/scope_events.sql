-- The decision events a report covers: the window and the request's filters, as bound values.
-- An empty filter list means no filter; `policy` is the deciding policy, `evaluated_policy`
-- any evaluated one, by name (`pii-filter`) or by name and verdict (`pii-filter:block`).
SELECT *
FROM read_parquet($files)
WHERE "timestamp" >= $start AND "timestamp" < $end
  AND (len($policy::VARCHAR[]) = 0 OR list_contains($policy::VARCHAR[], policy))
  AND (len($evaluated_policy::VARCHAR[]) = 0
       OR len(list_filter(policies_evaluated, lambda p:
            list_contains($evaluated_policy::VARCHAR[], p.name)
            OR list_contains($evaluated_policy::VARCHAR[], p.name || ':' || p.verdict))) > 0)
  AND (len($action::VARCHAR[]) = 0 OR list_contains($action::VARCHAR[], action))
  AND (len($result::VARCHAR[]) = 0 OR list_contains($result::VARCHAR[], result))
  AND (len($environment::VARCHAR[]) = 0 OR list_contains($environment::VARCHAR[], environment))
  AND (len($gateway::VARCHAR[]) = 0 OR list_contains($gateway::VARCHAR[], gateway))
  AND (len($consumer_group::VARCHAR[]) = 0
       OR list_contains($consumer_group::VARCHAR[], consumer_group))
  AND (len($team::VARCHAR[]) = 0 OR list_contains($team::VARCHAR[], team))
  AND (len($user::VARCHAR[]) = 0 OR list_contains($user::VARCHAR[], "user"))
  AND (len($model::VARCHAR[]) = 0 OR list_contains($model::VARCHAR[], model))
  AND (len($provider::VARCHAR[]) = 0 OR list_contains($provider::VARCHAR[], provider))
  AND list_contains($severities::VARCHAR[], severity)
