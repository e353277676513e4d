"""The sample workspaces: each check fails before the fix and passes after a reference fix.

The reference fixes below are small and plain; they prove each fixture is solvable and that
its tests measure the task (a fixture whose tests passed untouched would grade nothing).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentlab.agentic._check import CheckLimits, run_check
from agentlab.agentic._workspace import copy_workspace
from agentlab.tasks import load_tasks

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap not installed (.ci/install-sandbox.sh)")

TASKS = {t.id: t for t in load_tasks(Path(__file__).parents[2] / "data" / "workspaces"
                                     / "tasks.yaml")}

_FILTER = '''

def filter_orders(orders: Iterable[Order], user: CurrentUser, *,
                  status: OrderStatus | None = None, start: datetime | None = None,
                  end: datetime | None = None) -> list[Order]:
    """The user's orders with this status and created in [start, end], newest first."""
    if start is not None and end is not None and start > end:
        raise ValueError("start must not be after end")
    return [o for o in list_orders(orders, user)
            if (status is None or o.status == status)
            and (start is None or o.created_at >= start)
            and (end is None or o.created_at <= end)]
'''
_VERIFY = '''    try:
        header, payload, signature = token.split(".")
        if json.loads(_b64(header)).get("alg") != "HS256":
            raise AuthError("unsupported algorithm")
        claims = json.loads(_b64(payload))
    except ValueError as exc:
        raise AuthError("malformed token") from exc
    expected = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64(signature)):
        raise AuthError("bad signature")
    if float(claims.get("exp", 0)) <= now:
        raise AuthError("token expired")
    if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
        raise AuthError("wrong issuer or audience")
'''
_LIMIT = '''        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def login(self, email: str, password: str) -> bool:
        """Whether the password is right for this email."""
        key, now = email.lower(), self._clock()
        recent = [t for t in self._failures.get(key, []) if now - t < 15 * 60]
        if len(recent) >= 5:
            raise RateLimited(15 * 60 - (now - recent[0]))
        expected = self._hashes.get(key, "")
        ok = hmac.compare_digest(expected, _hash(password))
        self._failures[key] = [] if ok else [*recent, now]
        return ok
'''
# task id -> (file, [(old, new), ...])
FIXES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "ws-pagination-bug": ("pagination.py", [("c.id >= cursor", "c.id > cursor"),
                                            ("len(rows) == limit - 1", "len(rows) == limit")]),
    "ws-orders-filter": ("orders.py", [("    raise NotFound(order_id)\n",
                                        "    raise NotFound(order_id)\n" + _FILTER)]),
    "ws-jwt-validation": ("auth.py", [
        ("import base64\n", "import base64\nimport hashlib\nimport hmac\n"),
        ('    try:\n        _header, payload, _signature = token.split(".")\n'
         "        claims = json.loads(_b64(payload))\n    except ValueError as exc:\n"
         '        raise AuthError("malformed token") from exc\n', _VERIFY)]),
    "ws-mypy-error": ("inventory.py", [("stock.get(sku)", "stock.get(sku, 0)")]),
    "ws-n-plus-one-report": ("report.py", [(
        '    rows = []\n    for customer_id, name in db.execute("SELECT id, name FROM customers '
        'ORDER BY name"):\n        count, total = db.execute(\n            "SELECT count(*), '
        'coalesce(sum(total_cents), 0) FROM orders WHERE customer_id = ?",\n            '
        "(customer_id,)).fetchone()\n        rows.append(CustomerRow(name, count, total))\n"
        "    return rows",
        '    query = ("SELECT c.name, count(o.id), coalesce(sum(o.total_cents), 0) FROM '
        'customers c "\n             "LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id '
        'ORDER BY c.name")\n    return [CustomerRow(n, count, total) for n, count, total in '
        "db.execute(query)]")]),
    "ws-soft-delete-orders": ("orders_repo.py", [(
        '    get_status(db, order_id, customer_id)\n    db.execute("DELETE FROM orders WHERE id = '
        '? AND customer_id = ?", (order_id, customer_id))',
        '    if get_status(db, order_id, customer_id) == "shipped":\n        raise ValueError('
        '"a shipped order cannot be cancelled")\n    db.execute("UPDATE orders SET status = '
        "'cancelled' WHERE id = ? AND customer_id = ?\", (order_id, customer_id))")]),
    "ws-login-rate-limit": ("login.py", [(
        '        self._clock = clock\n\n    def login(self, email: str, password: str) -> bool:\n'
        '        """Whether the password is right for this email."""\n'
        '        expected = self._hashes.get(email.lower(), "")\n'
        "        return hmac.compare_digest(expected, _hash(password))\n", _LIMIT)]),
}


def test_every_sample_task_has_a_reference_fix() -> None:
    assert sorted(FIXES) == sorted(TASKS)


@pytest.mark.parametrize("task_id", sorted(FIXES))
def test_check_fails_before_and_passes_after_the_fix(task_id: str, tmp_path: Path) -> None:
    task = TASKS[task_id]
    assert task.workspace is not None and task.check is not None
    copy = tmp_path / "workspace"
    copy_workspace(task.workspace, copy)
    limits = CheckLimits(timeout_s=60)
    before = run_check(task.check, copy, limits)
    assert not before.passed, before.output
    name, edits = FIXES[task_id]
    text = (copy / name).read_text()
    for old, new in edits:
        assert old in text, f"{task_id}: the fixture changed; update its reference fix"
        text = text.replace(old, new)
    (copy / name).write_text(text)
    # The tests alone (fast); mypy, slower, only where mypy is the point of the task.
    command = task.check if "mypy-error" in task_id else "python -m unittest -q"
    after = run_check(command, copy, limits)
    assert after.passed, after.output
    assert after.duration_s < 5 or "mypy" in command
