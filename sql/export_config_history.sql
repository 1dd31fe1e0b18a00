-- Configuration versions created in the window, with their change summaries.
-- No ORDER BY: it reads one lake partition at a time, and partitions are stored sorted by
-- (time, id), an order DuckDB keeps (preserve_insertion_order); sorting again would cost
-- a third of the export.
SELECT config_version AS id, created_at, gateway, author, summary, policies, sha256
FROM read_parquet($files)
WHERE created_at >= $start AND created_at < $end
    AND (len($gateway) = 0 OR list_contains($gateway, gateway))
