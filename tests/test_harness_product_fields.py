"""No harness code path reads a field the real product does not have (PRODUCT-API.md): no
`instance_id` or generation in a row or payload, no `restart_pending` flag, no event `"type"`
or `"reason"`, no `since` cursor on /events. The old reference had them; code relying on them
would pass against it and hang against staging.

The scan parses every e2e/**/*.py (so comments and docstrings never count) and flags reads
of those keys: `x.get("k")`, `x["k"]` (loads, not stores), `getattr(x, "k")`, the attributes
`.generation`/`.restart_pending`, a `"since"` string or a `since=` query in a URL, and a
`since=` keyword to a platform call. AWS's `InstanceId`, the harness's own `instance_id`
attributes (BoxIdentity, Observation) and local names are fine. The scanner is shown to catch
each form when it is added to a copy of a harness file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from e2e.harness.platform import PlatformClient

REPO = Path(__file__).resolve().parent.parent
KEYS = frozenset({"instance_id", "generation", "restart_pending", "type", "reason"})
ATTRIBUTES = frozenset({"generation", "restart_pending"})
PLATFORM_CALLS = frozenset(
    {n for n in dir(PlatformClient) if not n.startswith("__")}
    | {"get", "post", "put", "patch", "delete", "request", "stream"}
)
# (file, enclosing function, what): reads that are not of the platform, and why
ALLOWED = {
    ("e2e/harness/product.py", "_describe", '.get("type")'),  # pydantic's error dict
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def platform_field_reads(source: str) -> list[tuple[int, str, str]]:
    """(line, enclosing function, what) for every read of a field the product lacks."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    owner: dict[int, str] = {}

    def enclose(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else name
            )
            owner[id(child)] = inner
            enclose(child, inner)

    enclose(tree, "<module>")
    hits: list[tuple[int, str, str]] = []

    def hit(node: ast.AST, what: str) -> None:
        hits.append((getattr(node, "lineno", 0), owner.get(id(node), "<module>"), what))

    def key(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            getter = isinstance(func, ast.Attribute) and func.attr == "get" and node.args
            if getter and key(node.args[0]) in KEYS:
                hit(node, f'.get("{key(node.args[0])}")')
            attr = isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2
            if attr and key(node.args[1]) in KEYS:
                hit(node, f'getattr(…, "{key(node.args[1])}")')
            name = func.attr if isinstance(func, ast.Attribute) else None
            if name in PLATFORM_CALLS and any(k.arg == "since" for k in node.keywords):
                hit(node, f"{name}(…, since=…)")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if key(node.slice) in KEYS:
                hit(node, f'["{key(node.slice)}"]')
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            hit(node, f".{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            if node.value == "since":
                hit(node, '"since"')
            elif "?since=" in node.value or "&since=" in node.value:
                hit(node, "?since= in a URL")
    return sorted(hits)


def harness_sources() -> list[Path]:
    return sorted(p for p in (REPO / "e2e").rglob("*.py"))


def test_no_harness_code_reads_a_field_the_product_does_not_have() -> None:
    found = []
    allowed_seen = set()
    for path in harness_sources():
        rel = path.relative_to(REPO).as_posix()
        for line, function, what in platform_field_reads(path.read_text(encoding="utf-8")):
            if (rel, function, what) in ALLOWED:
                allowed_seen.add((rel, function, what))
            else:
                found.append(f"{rel}:{line} ({function}): {what}")
    assert found == []
    assert allowed_seen == ALLOWED, "an allowance no longer needed: remove it"
    assert len(harness_sources()) > 30  # the scan really covers the harness


INJECTED = [
    ('row = raw.get("instance_id")', '.get("instance_id")'),
    ('box = getattr(row, "instance_id", None)', 'getattr(…, "instance_id")'),
    ('gen = payload["generation"]', '["generation"]'),
    ("gen = row.generation", ".generation"),
    ("pending = ws.last_row.restart_pending", ".restart_pending"),
    ('pending = row.get("restart_pending")', '.get("restart_pending")'),
    ('kind = event.get("type")', '.get("type")'),
    ('why = event.payload["reason"]', '["reason"]'),
    ('page = ws.platform._json("GET", path, (200,), params={"since": cursor})', '"since"'),
    ('page = ws.platform.request("GET", f"/events/{ws.id}?since={cursor}")', "?since= in a URL"),
    ("page = ws.platform.events(ws.id, since=cursor)", "events(…, since=…)"),
]
CLEAN = [
    "instance_id = box.instance_id",
    'iid = raw["InstanceId"]',
    'state = raw["State"]["Name"]',
    "since = ws.events.since(marker.events)",
    "reason = dead(ws, obs, since=since)",
    "kind = event.event_type",
    "entry_type = entry.type",
    'rows["instance_id"] = box.instance_id  # writing our own report, not reading the product',
    '"""A docstring may say instance_id, ["generation"] and ?since= freely."""',
    "# nor a comment: row.get('instance_id')",
]


def _copy_with(tmp_path: Path, line: str) -> tuple[str, int]:
    """A copy of settle.py with a function holding `line` appended; the line's number."""
    original = (REPO / "e2e" / "harness" / "settle.py").read_text(encoding="utf-8")
    args = "ws, raw, row, payload, event, entry, box, obs, marker, cursor, rows"
    injected = original + f"\n\ndef _injected({args}):\n    {line}\n    return None\n"
    copy = tmp_path / "settle.py"
    copy.write_text(injected, encoding="utf-8")
    return copy.read_text(encoding="utf-8"), len(injected.splitlines()) - 1


def test_the_real_settle_py_is_clean() -> None:
    assert platform_field_reads((REPO / "e2e" / "harness" / "settle.py").read_text()) == []


@pytest.mark.parametrize(("line", "what"), INJECTED, ids=[w for _, w in INJECTED])
def test_the_scan_catches_each_form_added_to_a_copy_of_a_harness_file(
    tmp_path: Path, line: str, what: str
) -> None:
    source, number = _copy_with(tmp_path, line)
    assert platform_field_reads(source) == [(number, "_injected", what)]


@pytest.mark.parametrize("line", CLEAN)
def test_the_scan_lets_aws_fields_our_own_attributes_and_locals_be(
    tmp_path: Path, line: str
) -> None:
    assert platform_field_reads(_copy_with(tmp_path, line)[0]) == []
