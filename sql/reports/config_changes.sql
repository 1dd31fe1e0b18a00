-- Configuration changes made during the window, newest last.
SELECT created_at, gateway, config_version, author, summary, sha256
FROM config_versions
WHERE in_window
ORDER BY created_at, config_version
