"""``writable-paths``: the app developer's command (check, explain, init, manifest)."""
