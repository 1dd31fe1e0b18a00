-- Configuration changes made during the window, every one, oldest first.
SELECT created_at, gateway, config_version, author, summary, sha256
FROM config_versions
WHERE in_window
ORDER BY created_at, config_version
