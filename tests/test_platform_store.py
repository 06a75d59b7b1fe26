"""The platform's event log and rows (reference/platform/store.py) as `GET /events/:id` and
`GET /workspaces` answer from them (handlers/events.go: ORDER BY created_at DESC LIMIT 100)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from support.platform_rows import add_row

from reference.platform.store import Store


def test_events_are_newest_first_at_most_100_with_uuid_ids(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    ws = add_row(store)
    for n in range(149):
        store.add_event(ws.id, "WORKSPACE_PROVISIONING", {"n": n})
    events = store.events(ws.id)
    assert len(events) == 100
    assert [e["payload"].get("n") for e in events] == list(range(148, 48, -1))
    stamps = [datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) for e in events]
    assert stamps == sorted(stamps, reverse=True)
    ids = [e["id"] for e in events]
    assert len(set(ids)) == 100 and all(str(uuid.UUID(i)) == i for i in ids)
    assert all(
        set(e) == {"id", "event_type", "workspace_id", "payload", "created_at"} for e in events
    )


def test_events_of_an_unknown_workspace_are_an_empty_list(tmp_path: Path) -> None:
    assert Store(tmp_path / "db.sqlite3").events(str(uuid.uuid4())) == []


def test_equal_timestamps_keep_insertion_order_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    ws = add_row(store)
    with store.tx() as db:  # three events in one transaction: the product's now() would tie
        for n in range(3):
            db.execute(
                "INSERT INTO events (id, workspace_id, event_type, created_at, payload) "
                "VALUES (?, ?, 'X', '2999-01-01T00:00:00.000000000Z', ?)",
                (str(uuid.uuid4()), ws.id, f'{{"n": {n}}}'),
            )
    assert [e["payload"].get("n") for e in store.events(ws.id)[:3]] == [2, 1, 0]


def test_the_workspace_list_excludes_removed_rows_and_keeps_creation_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    a, b, c = add_row(store, "a"), add_row(store, "b"), add_row(store, "c")
    store.update(b.id, status="removed")
    assert [w.id for w in store.workspaces()] == [a.id, c.id]
    assert store.names_under(None) == {"a", "c"}


def test_a_row_survives_reopening_the_database(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    ws = add_row(store, "kept", declared=["seo-all"], compute={"data_persistence": "persist"})
    store.record_plugin(ws.id, "seo-all", "local://seo-all", 1)
    store.close()
    again = Store(tmp_path / "db.sqlite3")
    row = again.workspace(ws.id)
    assert row is not None and row.declared_plugins == ["seo-all"] and row.persists
    assert [p["source"] for p in again.plugins(ws.id)] == ["local://seo-all"]
    assert len(again.events(ws.id)) == 1
