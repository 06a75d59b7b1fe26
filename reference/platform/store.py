"""Platform state in SQLite (WAL), so a platform restart loses no workspace, event or plugin.

Reads use one connection per thread (WAL lets them run side by side, and sqlite releases the
GIL while it works): with one shared connection behind a lock, every poll and heartbeat of a
200-workspace burst queued behind the others. Writes are few and tiny and go through one lock,
so they never meet SQLITE_BUSY. Liveness and restart timing are kept in memory by their own
modules (they are timing, not state), as the product keeps them in Redis.
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

from reference.platform.schema import SCHEMA

ACTIVE = "status != 'removed'"
EVENT_WINDOW = 100  # GET /events answers the newest 100 (handlers/events.go)


def now_iso() -> str:
    """RFC 3339 as Go renders a Postgres timestamp: up to 6 fraction digits, trailing zeros
    trimmed, none on a whole second."""
    stamp = datetime.now(UTC)
    fraction = f"{stamp.microsecond:06d}".rstrip("0")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


@dataclass
class Workspace:
    """One stored row; `instance_id` is internal (the product's API never shows it)."""

    id: str
    name: str
    parent_id: str | None
    template: str
    runtime: str
    model: str
    role: str
    tier: int
    compute: dict[str, Any]
    secrets: dict[str, str]
    declared_plugins: list[str]
    status: str
    token: str
    instance_id: str
    private_ip: str
    url: str
    agent_card: dict[str, Any] | None
    last_sample_error: str
    provisions: int
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Workspace:
        data = dict(row)
        data["agent_card"] = json.loads(data["agent_card"]) if data["agent_card"] else None
        for key in ("compute", "secrets", "declared_plugins"):
            data[key] = json.loads(data[key])
        return cls(**data)

    @property
    def persists(self) -> bool:
        return self.compute.get("data_persistence") == "persist"


_JSON_FIELDS = ("agent_card", "compute", "secrets", "declared_plugins")


class Store:
    """All platform state; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()  # the one writer
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._db = self._connect()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        with self._all_lock:
            self._all.append(db)
        return db

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def close(self) -> None:
        with self._lock, self._all_lock:
            for db in self._all:
                db.close()
            self._all.clear()

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

    # -- workspaces --------------------------------------------------------------------------
    def add_workspace(self, *, event: tuple[str, dict[str, Any]], **fields: Any) -> Workspace:
        """Insert a row (status provisioning) and its first event in one transaction."""
        row = {
            "id": str(uuid.uuid4()),
            "status": "provisioning",
            "created_at": now_iso(),
            **fields,
        }
        row["updated_at"] = row["created_at"]
        for key in _JSON_FIELDS:
            if key in row and row[key] is not None:
                row[key] = json.dumps(row[key], sort_keys=True)
        columns = ", ".join(row)
        values = ", ".join(f":{key}" for key in row)
        with self.tx() as db:
            db.execute(f"INSERT INTO workspaces ({columns}) VALUES ({values})", row)
            self._event(db, row["id"], *event)
        ws = self.workspace(row["id"])
        assert ws is not None
        return ws

    def workspace(self, ws_id: str) -> Workspace | None:
        row = self._reader().execute("SELECT * FROM workspaces WHERE id = ?", (ws_id,)).fetchone()
        return Workspace.from_row(row) if row else None

    def workspaces(self, where: str = ACTIVE, args: tuple[Any, ...] = ()) -> list[Workspace]:
        rows = (
            self._reader()
            .execute(f"SELECT * FROM workspaces WHERE {where} ORDER BY created_at, id", args)
            .fetchall()
        )
        return [Workspace.from_row(r) for r in rows]

    def names_under(self, parent_id: str | None) -> set[str]:
        """Names in use by active siblings (uniqueness is per parent, removed rows excluded)."""
        rows = (
            self._reader()
            .execute(
                f"SELECT name FROM workspaces WHERE {ACTIVE} AND "
                "COALESCE(parent_id, '') = COALESCE(?, '')",
                (parent_id,),
            )
            .fetchall()
        )
        return {str(r["name"]) for r in rows}

    def update(
        self, ws_id: str, *, event: tuple[str, dict[str, Any]] | None = None, **fields: Any
    ) -> Workspace:
        """Set fields (and append one event) in a single transaction."""
        for key in _JSON_FIELDS:
            if key in fields and fields[key] is not None:
                fields[key] = json.dumps(fields[key], sort_keys=True)
        fields["updated_at"] = now_iso()
        assignments = ", ".join(f"{key} = :{key}" for key in fields)
        with self.tx() as db:
            db.execute(
                f"UPDATE workspaces SET {assignments} WHERE id = :_id", {**fields, "_id": ws_id}
            )
            if event:
                self._event(db, ws_id, *event)
        ws = self.workspace(ws_id)
        assert ws is not None
        return ws

    # -- events ------------------------------------------------------------------------------
    @staticmethod
    def _event(db: sqlite3.Connection, ws_id: str, kind: str, payload: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO events (id, workspace_id, event_type, created_at, payload) "
            "VALUES (?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), ws_id, kind, now_iso(), json.dumps(payload, sort_keys=True)),
        )

    def add_event(self, ws_id: str, kind: str, payload: dict[str, Any]) -> None:
        with self.tx() as db:
            self._event(db, ws_id, kind, payload)

    def events(self, ws_id: str, limit: int = EVENT_WINDOW) -> list[dict[str, Any]]:
        """Newest first, at most `limit` (the product's ORDER BY created_at DESC LIMIT 100):
        the list GET /events answers, read back."""
        events: list[dict[str, Any]] = json.loads(self.events_json(ws_id, limit))
        return events

    def events_json(self, ws_id: str, limit: int = EVENT_WINDOW) -> str:
        """The list as JSON text, the stored payloads spliced in as they are: polled by every
        waiting harness, it must not parse and re-dump a hundred payloads each time."""
        rows = (
            self._reader()
            .execute(
                "SELECT id, event_type, created_at, payload FROM events "
                "WHERE workspace_id = ? ORDER BY seq DESC LIMIT ?",  # one writer: seq is time
                (ws_id, limit),
            )
            .fetchall()
        )
        wid = json.dumps(ws_id)
        items = [
            f'{{"id":{json.dumps(r["id"])},"event_type":{json.dumps(r["event_type"])},'
            f'"workspace_id":{wid},"payload":{r["payload"]},'
            f'"created_at":{json.dumps(r["created_at"])}}}'
            for r in rows
        ]
        return "[" + ",".join(items) + "]"

    # -- installed plugins -------------------------------------------------------------------
    def record_plugin(self, ws_id: str, name: str, source: str, provision: int) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO plugins (workspace_id, name, source, installed_at_provision, "
                "installed_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(workspace_id, name) DO UPDATE SET source = excluded.source, "
                "installed_at_provision = excluded.installed_at_provision, "
                "installed_at = excluded.installed_at",
                (ws_id, name, source, provision, now_iso()),
            )

    def plugins(self, ws_id: str) -> list[dict[str, Any]]:
        rows = (
            self._reader()
            .execute(
                "SELECT name, source, installed_at_provision, installed_at FROM plugins "
                "WHERE workspace_id = ? ORDER BY name",
                (ws_id,),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]
