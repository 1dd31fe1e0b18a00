-- Configuration versions created in the window, with their change summaries.
SELECT config_version AS id, created_at, gateway, author, summary, policies, sha256
FROM read_parquet($files)
WHERE created_at >= $start AND created_at < $end
    AND (len($gateway) = 0 OR list_contains($gateway, gateway))
ORDER BY created_at, config_version
