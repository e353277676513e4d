"""Runner, store, cache and resume, through the loopback fake with the real SDK."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import agentlab as al
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.providers.base import GenerationOptions
from agentlab.testing._server import FakeAnthropic

KEY = "sk-ant-test-SECRET-key-0123456789"


def variants() -> list[al.Agent]:
    base = al.Agent(name="base", description="d", body="You are the base agent.", model="sonnet")
    return [base, base.with_body("You are the short agent.", name="short").with_model(
        None, name="short")]


def tasks(n: int = 3) -> list[al.Task]:
    return [al.Task(id=f"t{i}", prompt=f"Task number {i}") for i in range(n)]


def provider(fake: FakeAnthropic, **kw: float) -> AnthropicProvider:
    return AnthropicProvider(api_key=KEY, base_url=fake.base_url, **kw)  # type: ignore[arg-type]


def test_results_in_stable_order_with_dataframe(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.reply = lambda body: "```python\nx: int = 1\n```\n" + "word " * (
        len(body["system"][0]["text"]) % 7)
    run = al.run(variants(), tasks(), repeats=2, provider=provider(fake_api),
                 db=tmp_path / "r.sqlite", progress=False, default_model="haiku")
    assert run.status == "complete"
    keys = [(r.variant, r.task_id, r.repeat) for r in run.results]
    assert keys == [(v, f"t{i}", k) for v in ("base", "short") for i in range(3)
                    for k in range(2)]
    df = run.to_dataframe()
    assert list(df.columns[:5]) == ["run_id", "variant", "variant_hash", "task_id", "repeat"]
    assert (df["code_blocks"] == 1).all() and (df["code_lines"] == 1).all()
    assert df["cost_usd"].gt(0).all()
    # model per cell: the variant's model, else the run default (resolved aliases)
    models = dict(zip(df["variant"], df["model"], strict=False))
    assert models == {"base": "claude-sonnet-5-5", "short": "claude-haiku-5-5"}
    summary = run.summary()
    assert summary.loc["base", "cells"] == 6 and summary.loc["base", "errors"] == 0


def test_explicit_model_override_wins(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    al.run(variants(), tasks(1), model="opus", provider=provider(fake_api),
           db=tmp_path / "r.sqlite", progress=False)
    assert {b["model"] for b in fake_api.bodies()} == {"claude-opus-5-5"}


def test_request_shape_caching_and_temperature(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    run = al.run(variants()[:1], tasks(2), provider=provider(fake_api), concurrency=1,
                 options=GenerationOptions(max_tokens=50, temperature=0.3),
                 db=tmp_path / "r.sqlite", progress=False)
    first, _ = fake_api.bodies()
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert first["temperature"] == 0.3 and first["max_tokens"] == 50
    assert run.results[0].cache_write_tokens > 0
    assert run.results[1].cache_read_tokens > 0


def test_concurrency_limit_respected(tmp_path: Path) -> None:
    with FakeAnthropic(latency=0.1) as fake:
        run = al.run(variants(), tasks(5), repeats=2, provider=provider(fake), concurrency=3,
                     db=tmp_path / "r.sqlite", progress=False)
        assert len(run.results) == 20
        assert fake.peak_in_flight == 3


def test_transient_faults_then_success(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.inject("rate_limit", "overloaded", "server", retry_after=0)
    run = al.run(variants()[:1], tasks(1), provider=provider(fake_api), concurrency=1,
                 db=tmp_path / "r.sqlite", progress=False)
    assert run.errors == 0 and run.results[0].text
    assert fake_api.request_count == 4


def test_invalid_request_is_recorded_not_raised(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.add_rule("invalid_request", marker="Task number 1")
    run = al.run(variants()[:1], tasks(3), provider=provider(fake_api),
                 db=tmp_path / "r.sqlite", progress=False)
    failed = [r for r in run.results if not r.ok]
    assert [(r.task_id, r.error_kind) for r in failed] == [("t1", "invalid_request")]
    assert "400" in (failed[0].error or "")
    assert run.status == "complete" and len(run.results) == 3


def test_auth_error_stops_the_run_early(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.add_rule("auth")
    db = tmp_path / "r.sqlite"
    with pytest.raises(al.AuthenticationError, match="401"):
        al.run(variants(), tasks(10), provider=provider(fake_api), concurrency=2, db=db,
               progress=False)
    assert fake_api.request_count <= 2, "the run stopped instead of failing every cell"
    stored = al.list_runs(db)
    assert stored.loc[0, "status"] == "stopped: authentication failed"


def test_cached_rerun_sends_zero_requests(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    first = al.run(variants(), tasks(), repeats=2, provider=provider(fake_api), db=db,
                   progress=False)
    sent = fake_api.request_count
    assert sent == 12
    again = al.run(variants(), tasks(), repeats=2, provider=provider(fake_api), db=db,
                   progress=False)
    assert fake_api.request_count == sent
    assert [r.text for r in again.results] == [r.text for r in first.results]
    # A new variant reuses the cache for the unchanged one and sends only its own cells.
    changed = [variants()[0], variants()[0].append("Be brief.", name="brief")]
    third = al.run(changed, tasks(), repeats=2, provider=provider(fake_api), db=db,
                   progress=False)
    assert fake_api.request_count == sent + 6
    assert sum(r.cached for r in third.results) == 6
    al.run(changed, tasks(), repeats=2, provider=provider(fake_api), db=db, progress=False,
           refresh=True)
    assert fake_api.request_count == sent + 18


def test_errors_are_never_cached(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    fake_api.inject("invalid_request")
    run = al.run(variants()[:1], tasks(1), provider=provider(fake_api), db=db, progress=False)
    assert run.errors == 1
    run = al.run(variants()[:1], tasks(1), provider=provider(fake_api), db=db, progress=False)
    assert run.errors == 0 and fake_api.request_count == 2


def test_sync_wrapper_inside_running_loop(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    async def notebook_cell() -> al.Run:
        asyncio.get_running_loop()  # as in Jupyter: a loop is already running
        return al.run(variants(), tasks(2), provider=provider(fake_api),
                      db=tmp_path / "r.sqlite", progress=False)

    run = asyncio.run(notebook_cell())
    assert run.status == "complete" and len(run.results) == 4


def test_async_api(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    run = asyncio.run(al.run_async(variants(), tasks(2), provider=provider(fake_api),
                                   db=tmp_path / "r.sqlite", progress=False))
    assert len(run.results) == 4


def test_interrupt_keeps_finished_cells(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with FakeAnthropic(latency=0.05) as fake:
        async def main() -> al.Run:
            job = asyncio.ensure_future(al.run_async(
                variants(), tasks(10), provider=provider(fake), concurrency=2, db=db,
                progress=False))
            await asyncio.sleep(0.4)
            job.cancel()  # what Ctrl-C does to asyncio.run's main task
            return await job

        run = asyncio.run(main())
        assert run.status == "interrupted"
        assert 0 < len(run.results) < 20
        time.sleep(0.2)  # let cancelled requests reach the fake before counting
        before = fake.request_count
        resumed = al.run(variants(), tasks(10), provider=provider(fake), db=db, progress=False)
        assert len(resumed.results) == 20
        assert fake.request_count - before == 20 - len(run.results)


def test_budget_cap_stops_before_exceeding(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.output_tokens = 1000
    run = al.run(variants()[:1], tasks(10), provider=provider(fake_api), concurrency=1,
                 options=GenerationOptions(max_tokens=1000), budget_usd=0.05,
                 db=tmp_path / "r.sqlite", progress=False)
    assert run.status.startswith("stopped: budget")
    spent = run.to_dataframe()["cost_usd"].sum()
    assert 0 < spent <= 0.05
    assert len(run.results) < 10
    with pytest.raises(al.BudgetExceededError):
        al.run(variants()[:1], tasks(1), provider=provider(fake_api), budget_usd=0.0001,
               options=GenerationOptions(max_tokens=1000), refresh=True,
               db=tmp_path / "r.sqlite", progress=False)


def test_key_never_written_to_database(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    fake_api.add_rule("invalid_request", marker="Task number 2")
    al.run(variants(), tasks(), provider=provider(fake_api), db=db, progress=False)
    for file in tmp_path.iterdir():
        assert KEY.encode() not in file.read_bytes(), file
    assert all(r.auth_present for r in fake_api.requests)


def test_reopen_run(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    run = al.run(variants(), tasks(), provider=provider(fake_api), db=db, progress=False,
                 name="first")
    opened = al.open_run("first", db)
    assert opened.id == run.id
    assert [v.name for v in opened.variants] == ["base", "short"]
    assert opened.to_dataframe()[["variant", "task_id", "text"]].equals(
        run.to_dataframe()[["variant", "task_id", "text"]])
    with pytest.raises(al.StoreError, match="no run"):
        al.open_run("nope", db)


CHILD = """
import sys, agentlab as al
from agentlab.providers.anthropic import AnthropicProvider
base = al.Agent(name="base", description="d", body="You are the base agent.", model="sonnet")
tasks = [al.Task(id=f"t{i}", prompt=f"Task number {i}") for i in range(12)]
al.run([base], tasks, repeats=2, concurrency=2, db=sys.argv[1], progress=False,
       provider=AnthropicProvider(base_url=sys.argv[2]))
"""


def test_killed_run_resumes_without_resending(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with FakeAnthropic(latency=0.1) as fake:
        env = {**os.environ, "ANTHROPIC_API_KEY": KEY}
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), fake.base_url], env=env)
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline and done < 6:
            time.sleep(0.05)
            if db.exists():
                with sqlite3.connect(db) as conn:
                    try:
                        done = conn.execute("SELECT count(*) FROM results").fetchone()[0]
                    except sqlite3.OperationalError:
                        done = 0
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert 6 <= done < 24
        with sqlite3.connect(db) as conn:
            finished = conn.execute("SELECT count(*) FROM results").fetchone()[0]
        sent_before = fake.request_count
        base = al.Agent(name="base", description="d", body="You are the base agent.",
                        model="sonnet")
        run = al.run([base], [al.Task(id=f"t{i}", prompt=f"Task number {i}") for i in range(12)],
                     repeats=2, db=db, progress=False, provider=provider(fake))
        assert run.status == "complete"
        cells = [(r.task_id, r.repeat) for r in run.results]
        assert len(cells) == len(set(cells)) == 24
        assert fake.request_count - sent_before == 24 - finished
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == 24


def test_online_alias_resolution(tmp_path: Path) -> None:
    models = {"claude-sonnet-9-9": "2026-10-01T00:00:00Z",
              "claude-sonnet-5-5": "2026-01-01T00:00:00Z",
              "claude-haiku-5-5": "2026-01-01T00:00:00Z"}
    with FakeAnthropic(models=models) as fake:
        al.run(variants()[:1], tasks(1), provider=provider(fake), online_aliases=True,
               db=tmp_path / "r.sqlite", progress=False)
        assert fake.bodies()[0]["model"] == "claude-sonnet-9-9"


def test_progress_callback(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    al.run(variants(), tasks(2), provider=provider(fake_api), db=tmp_path / "r.sqlite",
           progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and len(seen) == 5


def test_open_latest_run_and_empty_store(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with pytest.raises(al.StoreError, match="there is no results database here"):
        al.open_run(db=db)
    assert not db.exists(), "a read-only call must not create the database"
    al.Store(db).close()
    with pytest.raises(al.StoreError, match="no runs stored yet"):
        al.open_run(db=db)
    run = al.run(variants(), tasks(1), provider=provider(fake_api), db=db, progress=False)
    assert al.open_run(db=db).id == run.id


def test_default_max_tokens_depends_on_provider(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    al.run(variants()[:1], tasks(1), provider=provider(fake_api), db=tmp_path / "r.sqlite",
           progress=False)
    assert fake_api.bodies()[0]["max_tokens"] == 2048


def test_identical_requests_are_sent_once(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    base = variants()[0]
    twin = base.renamed("twin")  # same prompt and model: the same request
    run = al.run([base, twin], tasks(3), provider=provider(fake_api), db=tmp_path / "r.sqlite",
                 progress=False)
    assert fake_api.request_count == 3 and run.requests_sent == 3
    assert len(run.results) == 6 and [r.cached for r in run.results] == [False] * 3 + [True] * 3
    assert [r.text for r in run.results[:3]] == [r.text for r in run.results[3:]]
    assert {r.variant for r in run.results[3:]} == {"twin"}


class _Echo(al.BaseProvider):
    """A provider whose cache identity carries a model and build, like the local one."""

    name = "echo"
    cache_namespace = "echo:tiny-model@build1"

    async def complete(self, request: al.Request) -> al.Response:
        return al.Response(text=request.messages[0].content, model="echo", input_tokens=1,
                           output_tokens=1, stop_reason="end_turn", latency_s=0.0)


def test_reopened_run_names_its_provider(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    run = al.run(variants(), tasks(1), provider=_Echo(), db=db, progress=False)
    assert run.provider == al.open_run(run.id, db).provider == "echo"
    assert al.list_runs(db).loc[0, "provider"] == "echo:tiny-model@build1"


class _Grouping(_Echo):
    """Records the order requests arrive in; wants them grouped by system prompt."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def order_requests(self, requests: Sequence[al.Request]) -> list[int]:
        return sorted(range(len(requests)), key=lambda i: requests[i].messages[0].content)

    async def complete(self, request: al.Request) -> al.Response:
        self.seen.append((request.system, request.messages[0].content))
        return await super().complete(request)


def test_cells_are_sent_in_the_providers_order_and_returned_in_plan_order(
    tmp_path: Path,
) -> None:
    grouping = _Grouping()
    run = al.run(variants(), tasks(3), provider=grouping, db=tmp_path / "r.sqlite",
                 progress=False, concurrency=1)
    assert [task for _, task in grouping.seen] == [f"Task number {i}" for i in (0, 0, 1, 1, 2, 2)]
    assert [(r.variant, r.task_id) for r in run.results] == [
        (v, f"t{i}") for v in ("base", "short") for i in range(3)]
