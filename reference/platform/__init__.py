"""Reference workspace platform: the API the harness drives (DESIGN §3)."""
