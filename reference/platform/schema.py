"""The platform's SQLite tables: the product keeps the same rows in Postgres (workspaces,
structure_events, workspace_plugins); only the columns the reference serves are here."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id TEXT,
    template TEXT NOT NULL DEFAULT '',
    runtime TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    tier INTEGER NOT NULL,
    compute TEXT NOT NULL DEFAULT '{}',
    secrets TEXT NOT NULL DEFAULT '{}',
    declared_plugins TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    token TEXT NOT NULL,
    instance_id TEXT NOT NULL DEFAULT '',
    private_ip TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    agent_card TEXT,
    last_sample_error TEXT NOT NULL DEFAULT '',
    provisions INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workspaces_status ON workspaces(status);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_workspace ON events(workspace_id, seq);
CREATE TABLE IF NOT EXISTS plugins (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    installed_at_provision INTEGER NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
"""
