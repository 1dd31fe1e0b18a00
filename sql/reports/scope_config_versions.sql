-- Configuration versions created before the window's end (the history a report can trace
-- events to), with `in_window` marking the changes made during the window.
SELECT *, created_at >= $start AS in_window
FROM read_parquet($files)
WHERE created_at < $end
  AND (len($gateway::VARCHAR[]) = 0 OR list_contains($gateway::VARCHAR[], gateway))
