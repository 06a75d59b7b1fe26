"""Platform state in SQLite (WAL), so a platform restart loses no workspace, template or event.

One connection guarded by a lock: the platform's writes are tiny and few, and a single writer
avoids SQLITE_BUSY under the 50-workspace burst. Heartbeat times are kept in memory by the
lifecycle (they are liveness, not state).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    runtime TEXT NOT NULL,
    file_count INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    template TEXT NOT NULL,
    runtime TEXT NOT NULL,
    tier INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    status TEXT NOT NULL,
    token TEXT NOT NULL,
    instance_id TEXT,
    private_ip TEXT,
    url TEXT,
    agent_card TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    busy INTEGER NOT NULL DEFAULT 0,
    pending_reasons TEXT NOT NULL DEFAULT '',
    reconciled INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workspaces_status ON workspaces(status);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_workspace ON events(workspace_id, id);
CREATE TABLE IF NOT EXISTS plugins (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    installed_generation INTEGER NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
"""

ACTIVE = "status != 'removed'"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Workspace:
    id: str
    name: str
    template: str
    runtime: str
    tier: int
    org_id: str
    status: str
    token: str
    instance_id: str | None
    private_ip: str | None
    url: str | None
    agent_card: dict[str, Any] | None
    generation: int
    busy: bool
    pending_reasons: list[str]
    reconciled: bool
    last_error: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Workspace:
        data = dict(row)
        data["agent_card"] = json.loads(data["agent_card"]) if data["agent_card"] else None
        data["busy"] = bool(data["busy"])
        data["reconciled"] = bool(data["reconciled"])
        data["pending_reasons"] = [r for r in data["pending_reasons"].split(",") if r]
        return cls(**data)

    def public(self) -> dict[str, Any]:
        """The `GET /workspaces/:id` answer (DESIGN §3 plus the reference fields)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "runtime": self.runtime,
            "tier": self.tier,
            "template": self.template,
            "agent_card": self.agent_card,
            "url": self.url,
            "instance_id": self.instance_id,
            "generation": self.generation,
            "restart_pending": bool(self.pending_reasons),
            "last_error": self.last_error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class Store:
    """All platform state; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- templates ---------------------------------------------------------------------------
    def add_template(self, name: str, runtime: str, file_count: int) -> dict[str, Any]:
        row = {
            "id": str(uuid.uuid4()),
            "name": name,
            "runtime": runtime,
            "file_count": file_count,
            "created_at": now_iso(),
        }
        with self.tx() as db:
            db.execute(
                "INSERT INTO templates (id, name, runtime, file_count, created_at) "
                "VALUES (:id, :name, :runtime, :file_count, :created_at)",
                row,
            )
        return row

    def templates(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM templates ORDER BY created_at, name").fetchall()
        return [dict(r) for r in rows]

    def template(self, name_or_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM templates WHERE name = ? OR id = ?", (name_or_id, name_or_id)
            ).fetchone()
        return dict(row) if row else None

    # -- workspaces --------------------------------------------------------------------------
    def add_workspace(
        self, *, name: str, template: str, runtime: str, tier: int, org_id: str, token: str
    ) -> Workspace:
        ws_id = str(uuid.uuid4())
        stamp = now_iso()
        with self.tx() as db:
            db.execute(
                "INSERT INTO workspaces (id, name, template, runtime, tier, org_id, status, "
                "token, busy, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'provisioning', ?, 1, ?, ?)",
                (ws_id, name, template, runtime, tier, org_id, token, stamp, stamp),
            )
            self._event(db, ws_id, "WORKSPACE_PROVISIONING", {"generation": 1, "reason": "create"})
        ws = self.workspace(ws_id)
        assert ws is not None
        return ws

    def workspace(self, ws_id: str) -> Workspace | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM workspaces WHERE id = ?", (ws_id,)).fetchone()
        return Workspace.from_row(row) if row else None

    def workspaces(self, where: str = ACTIVE, args: tuple[Any, ...] = ()) -> list[Workspace]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM workspaces WHERE {where} ORDER BY created_at", args
            ).fetchall()
        return [Workspace.from_row(r) for r in rows]

    def name_taken(self, name: str) -> bool:
        with self._lock:
            row = self._db.execute(
                f"SELECT 1 FROM workspaces WHERE name = ? AND {ACTIVE}", (name,)
            ).fetchone()
        return row is not None

    def update(
        self,
        ws_id: str,
        *,
        event: tuple[str, dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Workspace:
        """Set fields (and append one event) in a single transaction."""
        if "agent_card" in fields and fields["agent_card"] is not None:
            fields["agent_card"] = json.dumps(fields["agent_card"], sort_keys=True)
        if "pending_reasons" in fields:
            fields["pending_reasons"] = ",".join(fields["pending_reasons"])
        fields["updated_at"] = now_iso()
        assignments = ", ".join(f"{key} = :{key}" for key in fields)
        with self.tx() as db:
            db.execute(
                f"UPDATE workspaces SET {assignments} WHERE id = :_id", {**fields, "_id": ws_id}
            )
            if event:
                self._event(db, ws_id, event[0], event[1])
        ws = self.workspace(ws_id)
        assert ws is not None
        return ws

    # -- events ------------------------------------------------------------------------------
    @staticmethod
    def _event(db: sqlite3.Connection, ws_id: str, kind: str, payload: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO events (workspace_id, type, created_at, payload) VALUES (?, ?, ?, ?)",
            (ws_id, kind, now_iso(), json.dumps(payload, sort_keys=True)),
        )

    def add_event(self, ws_id: str, kind: str, payload: dict[str, Any]) -> None:
        with self.tx() as db:
            self._event(db, ws_id, kind, payload)

    def events(self, ws_id: str, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, type, created_at, payload FROM events "
                "WHERE workspace_id = ? AND id > ? ORDER BY id",
                (ws_id, since),
            ).fetchall()
        return [
            {
                "id": r["id"],
                "workspace_id": ws_id,
                "type": r["type"],
                "created_at": r["created_at"],
                "payload": json.loads(r["payload"]),
            }
            for r in rows
        ]

    # -- plugins -----------------------------------------------------------------------------
    def install_plugin(self, ws_id: str, name: str, source: str, generation: int) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO plugins (workspace_id, name, source, installed_generation, "
                "installed_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(workspace_id, name) DO UPDATE SET source = excluded.source, "
                "installed_generation = excluded.installed_generation, "
                "installed_at = excluded.installed_at",
                (ws_id, name, source, generation, now_iso()),
            )
            self._event(db, ws_id, "PLUGIN_INSTALLED", {"plugin": name, "source": source})

    def plugins(self, ws_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, source, installed_generation, installed_at FROM plugins "
                "WHERE workspace_id = ? ORDER BY name",
                (ws_id,),
            ).fetchall()
        return [dict(r) for r in rows]
