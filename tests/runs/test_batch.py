"""Message Batches runs through the loopback fake with the real SDK: durability above all."""

from __future__ import annotations

import multiprocessing
import random
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import anthropic
import pytest

import agentlab as al
from agentlab import cli
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.providers.base import BaseProvider, GenerationOptions, Request, Response
from agentlab.providers.models import ModelTable
from agentlab.runs._batch import BatchOptions, cancel_batch, list_batches
from agentlab.runs._batchbook import BatchBook, BatchCell
from agentlab.runs._batchflow import chunks, custom_id
from agentlab.runs._store import CellResult, Store
from agentlab.testing import BatchFate, FakeAnthropic, Fault, prompt_text

KEY = "sk-ant-test-SECRET-batch-0123456789"
FAST = BatchOptions(first_poll=0.01, max_poll=0.03)
# Fields a batch run shares with a direct run (two fakes on two ports: two cache keys).
SAME = [f.name for f in fields(CellResult)
        if f.name not in ("latency_s", "batch_id", "cache_key")]


def variants() -> list[al.Agent]:
    base = al.Agent(name="base", description="d", body="You are the base agent.", model="sonnet")
    return [base, base.with_body("You are the short agent.", name="short")]


def tasks(n: int = 3, tag: str = "") -> list[al.Task]:
    return [al.Task(id=f"t{i}", prompt=f"Task number {i} {tag}") for i in range(n)]


def provider(fake: FakeAnthropic, **kw: Any) -> AnthropicProvider:
    return AnthropicProvider(api_key=KEY, base_url=fake.base_url, **kw)


def reply(body: dict[str, Any]) -> str:
    return "answer to " + prompt_text(body)[-30:]


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(reply=reply, batch_delay=0.05) as f:
        yield f


def batch_run(fake: FakeAnthropic, db: Path, ts: list[al.Task] | None = None,
              **kw: Any) -> al.Run:
    kw.setdefault("batch", FAST)
    return al.run(variants(), ts or tasks(), repeats=2, provider=provider(fake), db=db,
                  progress=False, **kw)


def created(fake: FakeAnthropic) -> list[list[str]]:
    """The custom ids of each batch the fake was asked to create."""
    return [[r["custom_id"] for r in b["requests"]]
            for b in fake.bodies("/v1/messages/batches")]


def test_batch_rows_and_requests_equal_a_direct_run(tmp_path: Path) -> None:
    options = GenerationOptions(max_tokens=64, temperature=0.3, stop=("STOP",))
    runs, bodies = [], []
    for batch in (False, True):  # a fresh fake each: the same prompt-cache history
        with FakeAnthropic(reply=reply, batch_delay=0.02) as f:
            runs.append(al.run(variants(), tasks(), repeats=2, provider=provider(f),
                               options=options, db=tmp_path / f"{batch}.sqlite",
                               progress=False, concurrency=1, batch=FAST if batch else False))
            bodies.append(f.bodies() if not batch else
                          [r["params"] for b in f.bodies("/v1/messages/batches")
                           for r in b["requests"]])
    direct, batched = runs
    assert batched.status == "complete" and batched.requests_sent == 12
    assert bodies[0] == bodies[1]  # the same request, cache_control, options and all
    assert bodies[1][0]["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert bodies[1][0]["temperature"] == 0.3 and bodies[1][0]["stop_sequences"] == ["STOP"]
    rows = [[getattr(r, n) for n in SAME] for r in direct.results]
    assert rows == [[getattr(r, n) for n in SAME] for r in batched.results]
    assert {r.batch_id for r in batched.results} == {"msgbatch_fake000000000001"}
    cost = direct.to_dataframe()["cost_usd"].sum()
    assert cost > 0 and batched.to_dataframe()["cost_usd"].sum() == pytest.approx(cost / 2)


def test_split_at_the_request_and_byte_limits(fake: FakeAnthropic, tmp_path: Path) -> None:
    run = batch_run(fake, tmp_path / "r.sqlite", batch=BatchOptions(
        first_poll=0.01, max_poll=0.03, max_requests=5))
    assert run.status == "complete" and len(run.results) == 12
    assert [len(ids) for ids in created(fake)] == [5, 5, 2]
    items: list[Any] = [([], {}, size) for size in (40, 40, 40, 10)]
    split = list(chunks(items, BatchOptions(max_bytes=100)))
    assert [len(c) for c in split] == [2, 2]  # 15 envelope + 40 + 40 fits, + 40 does not
    with pytest.raises(al.ConfigError, match="max_requests"):
        BatchOptions(max_requests=100_001)


def test_no_wait_then_collect_and_rerun_reattaches(fake: FakeAnthropic, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "r.sqlite"
    fake.batches.delay = 0.3
    pending = batch_run(fake, db, wait=False)
    assert pending.status.startswith("pending: 12 cells in 1 batches")
    assert pending.results == () and pending.requests_sent == 12
    again = batch_run(fake, db, wait=False)  # a second run re-attaches, submits nothing
    assert again.status.startswith("pending") and again.requests_sent == 0
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)  # collect() builds its own provider
    reopened = al.open_run(pending.id, db)
    assert reopened.status.startswith("pending")
    collected = reopened.collect(batch=FAST, progress=False)
    assert collected.status == "complete" and len(collected.results) == 12
    assert all(r.ok and r.batch_id for r in collected.results)
    assert set(fake.batches.submissions.values()) == {1} and len(created(fake)) == 1
    assert batch_run(fake, db).requests_sent == 0  # all stored now


def test_direct_rerun_warns_about_cells_in_flight(fake: FakeAnthropic, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    fake.batches.delay = 30.0
    pending = batch_run(fake, tmp_path / "r.sqlite", wait=False)
    with caplog.at_level("WARNING", logger="agentlab"):
        direct = batch_run(fake, tmp_path / "r.sqlite", batch=False)
    assert direct.id == pending.id and direct.requests_sent == 12
    assert "12 cells of run" in caplog.text and "pays twice" in caplog.text


def test_cached_and_new_cells_batch_only_the_new(fake: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    first = batch_run(fake, db, tasks(2))
    assert first.status == "complete" and first.requests_sent == 8
    second = batch_run(fake, db, tasks(3))
    assert second.id != first.id and second.status == "complete"
    assert second.requests_sent == 4 and [len(ids) for ids in created(fake)] == [8, 4]
    assert sum(r.cached for r in second.results) == 8 and len(second.results) == 12
    assert set(fake.batches.submissions.values()) == {1}


def test_expired_and_canceled_cells_are_resubmitted_and_only_they(
        fake: FakeAnthropic, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    gone: dict[str, BatchFate] = {"t1": "expired", "t2": "canceled"}
    fake.batches.fate = lambda cid, params: next(
        (fate for task, fate in gone.items() if f"number {task[1]}" in prompt_text(params)),
        None)
    first = batch_run(fake, db)
    assert first.status.startswith("stopped: 8 cells expired or were canceled")
    assert {r.task_id for r in first.results} == {"t0"}
    fake.batches.fate = None
    second = batch_run(fake, db)
    assert second.status == "complete" and len(second.results) == 12
    again = {(r.task_id, fake.batches.submissions[custom_id(r.cache_key)])
             for r in second.results}
    assert again == {("t0", 1), ("t1", 2), ("t2", 2)}
    assert second.requests_sent == 8


def test_errors_are_recorded_by_kind_and_a_failed_batch_is_one_message(
        fake: FakeAnthropic, tmp_path: Path) -> None:
    fake.batches.fate = lambda cid, params: ("invalid_request" if "number 1" in
                                             prompt_text(params) else None)
    run = batch_run(fake, tmp_path / "a.sqlite")
    assert run.status == "complete" and run.errors == 4
    failed = [r for r in run.results if not r.ok]
    assert {r.error_kind for r in failed} == {"invalid_request"} and {r.task_id for r in
                                                                       failed} == {"t1"}
    assert "invalid_request_error" in (failed[0].error or "") and KEY not in str(failed)
    fake.batches.fate = None
    fake.batches.fail_next("overloaded")
    whole = batch_run(fake, tmp_path / "b.sqlite", tasks(2))
    assert whole.status.startswith("stopped: batch msgbatch_fake000000000002 failed: all 8 "
                                   "requests errored (overloaded), the first with: Anthropic "
                                   "batch request failed: overloaded_error: Overloaded")
    assert "\n" not in whole.status and {r.error_kind for r in whole.results} == {"overloaded"}
    retried = batch_run(fake, tmp_path / "b.sqlite", tasks(2))  # errors are retried, as usual
    assert retried.status == "complete" and retried.errors == 0


def test_twin_of_a_failed_batched_request_gets_its_own_error_row(
        fake: FakeAnthropic, tmp_path: Path) -> None:
    base = variants()[0]
    twin = base.renamed("twin")  # same prompt and model: one request serves both
    fake.batches.fate = lambda cid, params: "invalid_request"
    run = al.run([base, twin], tasks(2), provider=provider(fake), db=tmp_path / "t.sqlite",
                 progress=False, batch=FAST)
    assert sum(len(b) for b in created(fake)) == 2  # each shared request sent once
    assert sorted((r.variant, r.task_id) for r in run.results) == [
        ("base", "t0"), ("base", "t1"), ("twin", "t0"), ("twin", "t1")]
    assert [(r.error_kind, r.cached) for r in run.results] == [("invalid_request", False)] * 4


def test_lost_create_answer_is_found_through_list_not_resent(fake: FakeAnthropic,
                                                             tmp_path: Path) -> None:
    fake.inject(Fault("slow", delay=2.0), path="/v1/messages/batches")
    run = al.run(variants(), tasks(), provider=provider(fake, timeout=0.3),
                 db=tmp_path / "r.sqlite", progress=False, batch=FAST)
    assert run.status == "complete" and len(run.results) == 6
    assert len(fake.batches.ids) == 1 and set(fake.batches.submissions.values()) == {1}
    # One create (it timed out: its answer is still held back) and one list, which found it.
    assert fake.path_counts["/v1/messages/batches"] == 2
    assert [r.method for r in fake.requests if r.path == "/v1/messages/batches"] == ["GET"]


def _submitting(db: Path, fake: FakeAnthropic, run: al.Run, make: bool) -> str:
    """Leave a ``submitting`` row as a process killed inside create would."""
    cells = [BatchCell(custom_id(r.cache_key), r.variant, r.variant_hash, r.task_id, r.repeat,
                       r.cache_key, r.model) for r in run.results]
    with Store(db) as store:
        with store.transaction() as conn:
            conn.execute("DELETE FROM results")
            conn.execute("UPDATE batches SET status = 'collected'")
        sub = BatchBook(store).begin(run.id, f"anthropic@{fake.base_url}", fake.base_url,
                                     cells)
    if make:
        bodies = fake.bodies("/v1/messages/batches")
        client = anthropic.Anthropic(api_key=KEY, base_url=fake.base_url)
        client.messages.batches.create(requests=bodies[-1]["requests"])
    return sub.token


@pytest.mark.parametrize("made", [True, False])
def test_crash_inside_create_reattaches_or_resubmits(fake: FakeAnthropic, tmp_path: Path,
                                                     made: bool) -> None:
    db = tmp_path / "r.sqlite"
    first = batch_run(fake, db, tasks(1))
    token = _submitting(db, fake, first, make=made)
    fake.batches.delay = 0.2 if made else 0.05  # found while still in progress
    resumed = batch_run(fake, db, tasks(1))
    assert resumed.status == "complete" and len(resumed.results) == 4
    with Store(db) as store:
        sub = BatchBook(store).get(token)
    if made:  # the batch create made is found and collected: nothing sent again
        assert resumed.requests_sent == 0 and sub.batch_id == fake.batches.ids[-1]
        assert sub.status == "collected" and len(created(fake)) == 2
    else:  # create never reached the API: the cells are free and sent once more
        assert resumed.requests_sent == 4 and sub.status == "lost"
        assert sub.batch_id is None and len(created(fake)) == 2


def test_budget_counts_batch_prices_and_the_local_model_is_refused(
        fake: FakeAnthropic, tmp_path: Path) -> None:
    table = ModelTable()
    cell = al.plan(variants()[:1], tasks(1), repeats=1, model=None, default_model="sonnet",
                   options=GenerationOptions(max_tokens=2048), namespace="x", table=table)[0]
    chars = len(cell.request.system) + len(cell.request.messages[0].content)
    direct = table.cost(cell.request.model, chars // 3 + 16, 2048) or 0.0
    assert table.cost(cell.request.model, chars // 3 + 16, 2048, batch=True) == direct / 2
    run = al.run(variants()[:1], tasks(3), provider=provider(fake), db=tmp_path / "r.sqlite",
                 progress=False, batch=FAST, budget_usd=direct * 1.2)
    assert run.requests_sent == 2 and run.status == "stopped: budget of $" + \
        f"{direct * 1.2:.2f} reached"
    est = al.estimate_cost(variants(), tasks(), batch=True)[-1].cost_usd or 0.0
    assert est == pytest.approx((al.estimate_cost(variants(), tasks())[-1].cost_usd or 0) / 2)

    class Local(BaseProvider):
        name = "local"

        async def complete(self, request: Request) -> Response:
            raise AssertionError("never called")

    with pytest.raises(al.ConfigError, match="Message Batches API"):
        al.run(variants(), tasks(), provider=Local(), db=tmp_path / "l.sqlite",
               progress=False, batch=True)


def test_cli_batches_lists_and_cancels(fake: FakeAnthropic, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.sqlite"
    fake.batches.delay = 30.0
    run = batch_run(fake, db, wait=False)
    (batch_id,) = fake.batches.ids
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert cli.main(["batches", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert batch_id in listed and "in_progress" in listed and run.id in listed
    assert cli.main(["batches", "--db", str(db), "--cancel", batch_id[:-2]]) == 0
    assert "canceling" in capsys.readouterr().out
    assert list_batches(db)["status"].tolist() == ["canceling"]
    assert cancel_batch(batch_id, db) == "ended"  # the fake ends it at the next look
    assert list_batches(db)[["status", "canceled"]].values.tolist() == [["ended", 12]]
    after = batch_run(fake, db)  # collects the canceled batch: nothing answered
    assert after.status.startswith("stopped: 12 cells expired or were canceled")
    assert cli.main(["batches", "--db", str(db), "--cancel", batch_id]) == 1
    assert "nothing to cancel" in capsys.readouterr().err
    fake.batches.delay = 0.02
    assert batch_run(fake, db).status == "complete"  # resubmitted, once more each
    assert set(fake.batches.submissions.values()) == {2}


def test_cli_run_batch_no_wait_then_again(fake: FakeAnthropic, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    args = ["run", "--batch", "--provider", "anthropic", "--task-id", "pagination-bug",
            "--variant", "python-pro-backend", "--no-progress", "--db", str(tmp_path / "r.db")]
    fake.batches.delay = 0.2
    assert cli.main([*args, "--no-wait"]) == 0
    assert "pending: 1 cells in 1 batches" in capsys.readouterr().out
    time.sleep(0.25)  # ended by now: the first status check collects it, no 10 s wait
    assert cli.main(args) == 0
    assert "complete; 1 cells, 0 errors, 0 sent" in capsys.readouterr().out  # re-attached
    assert list(fake.batches.submissions.values()) == [1]
    assert cli.main(["estimate", "--batch", "--task-id", "pagination-bug"]) == 0
    assert "TOTAL" in capsys.readouterr().out


# -- SIGKILL at random points ------------------------------------------------------------------

def _child(base_url: str, db: str, tag: str) -> None:
    al.run(variants(), tasks(3, tag), repeats=2, provider=AnthropicProvider(
        api_key=KEY, base_url=base_url), db=db, progress=False,
        batch=BatchOptions(first_poll=0.01, max_poll=0.02, max_requests=5))


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.002)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_sigkill_at_random_points_loses_nothing_and_never_pays_twice(
        fake: FakeAnthropic, tmp_path: Path) -> None:
    fork = multiprocessing.get_context("fork")  # a warm child: no 5 s import per kill
    rng = random.Random(16)
    fake.batches.delay = 0.15  # longer than any kill delay below: the child is still at work
    windows = killed = 0
    for n in range(10):
        db, tag = tmp_path / f"r{n}.sqlite", f"round-{n}"
        before = len(fake.batches.ids)
        mode = "window" if n in (0, 5) else rng.choice(["after-create", "polling"])
        if mode == "window":  # the create's answer is held back: kill inside the window
            fake.inject(Fault("slow", delay=0.5), path="/v1/messages/batches")
        child = fork.Process(target=_child, args=(fake.base_url, str(db), tag))
        child.start()
        k = 1 if mode == "window" else rng.randint(1, 3)
        _wait_for(lambda: len(fake.batches.ids) >= before + k  # noqa: B023  (called at once)
                  or not child.is_alive())  # noqa: B023
        time.sleep(0.002 if mode == "window" else rng.uniform(0, 0.02 if mode ==
                                                              "after-create" else 0.1))
        child.kill()  # SIGKILL (a no-op if it already finished)
        child.join()
        assert child.exitcode in (-signal.SIGKILL, 0)
        killed += child.exitcode == -signal.SIGKILL
        if mode == "window":
            with Store(db) as store:
                stuck = BatchBook(store).submissions(statuses=["submitting"])
            windows += len(stuck) == 1 and stuck[0].batch_id is None
        resumed = al.run(variants(), tasks(3, tag), repeats=2, provider=provider(fake), db=db,
                         progress=False, batch=BatchOptions(first_poll=0.01, max_poll=0.02,
                                                            max_requests=5))
        assert resumed.status == "complete" and len(resumed.results) == 12, (n, mode)
        assert all(r.ok and r.text.startswith("answer to") for r in resumed.results)
        mine = {custom_id(r.cache_key) for r in resumed.results}
        counts = fake.batches.submissions
        assert {counts[cid] for cid in mine} == {1}, (n, mode)  # each cell sent exactly once
    assert windows == 2  # both window rounds really died between create and its record
    assert killed >= 8, f"only {killed} of 10 children were killed before they finished"
