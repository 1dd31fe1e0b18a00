-- Configuration changes in the window are attributable and fingerprinted.
SELECT
    count(*) FILTER (WHERE in_window) AS changes,
    count(*) FILTER (
        WHERE in_window AND (author IS NULL OR trim(author) = '' OR sha256 IS NULL
                             OR length(sha256) <> 64)
    ) AS unattributed_changes
FROM config_versions
