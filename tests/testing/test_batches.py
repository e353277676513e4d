"""The fake's Message Batches endpoints, through the real SDK (and raw HTTP for the errors)."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import anthropic
import pytest

from agentlab.testing import BatchFate, FakeAnthropic, prompt_text


def request(cid: str, text: str = "hello") -> Any:  # the SDK's batch Request TypedDict
    return {"custom_id": cid, "params": {"model": "claude-x", "max_tokens": 50,
                                         "messages": [{"role": "user", "content": text}]}}


def client(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-test", base_url=fake.base_url, max_retries=0)


def wait_ended(c: anthropic.Anthropic, batch_id: str) -> Any:
    for _ in range(200):
        batch = c.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        time.sleep(0.01)
    raise AssertionError("batch never ended")


def test_batch_lifecycle_answers_like_a_direct_call(fake_api: FakeAnthropic) -> None:
    fake_api.reply = lambda body: "echo " + body["messages"][-1]["content"]
    fake_api.batches.delay = 0.1
    c = client(fake_api)
    created = c.messages.batches.create(requests=[request("a", "one"), request("b", "two")])
    assert created.processing_status == "in_progress" and created.results_url is None
    assert created.request_counts.processing == 2 and created.request_counts.succeeded == 0
    ended = wait_ended(c, created.id)
    assert ended.request_counts.succeeded == 2 and ended.request_counts.processing == 0
    assert ended.ended_at is not None and ended.ended_at >= created.created_at
    assert ended.results_url and ended.results_url.endswith(f"/{created.id}/results")
    results = {r.custom_id: r.result for r in c.messages.batches.results(created.id)}
    assert set(results) == {"a", "b"}
    assert results["a"].type == "succeeded"
    assert results["a"].message.content[0].text == "echo one"  # type: ignore[union-attr]
    direct = c.messages.create(**request("x", "one")["params"])
    assert direct.content[0].text == "echo one"
    assert fake_api.batches.submissions == {"a": 1, "b": 1}


def test_fates_fail_next_and_submission_counts(fake_api: FakeAnthropic) -> None:
    fates: dict[str, BatchFate] = {"e": "expired", "c": "canceled", "x": "invalid_request"}
    fake_api.batches.fate = lambda cid, params: fates.get(cid)
    c = client(fake_api)
    batch = c.messages.batches.create(requests=[request(k) for k in "ecxo"])
    counts = wait_ended(c, batch.id).request_counts
    assert (counts.expired, counts.canceled, counts.errored, counts.succeeded) == (1, 1, 1, 1)
    kinds = {r.custom_id: r.result.type for r in c.messages.batches.results(batch.id)}
    assert kinds == {"e": "expired", "c": "canceled", "x": "errored", "o": "succeeded"}
    fake_api.batches.fail_next("overloaded")
    failed = c.messages.batches.create(requests=[request("o"), request("p")])
    results = list(c.messages.batches.results(wait_ended(c, failed.id).id))
    assert [r.result.type for r in results] == ["errored", "errored"]
    assert results[0].result.type == "errored"
    assert results[0].result.error.error.type == "overloaded_error"
    assert fake_api.batches.submissions == {"e": 1, "c": 1, "x": 1, "o": 2, "p": 1}


def test_cancel_catches_unprocessed_requests(fake_api: FakeAnthropic) -> None:
    fake_api.batches.delay = 30.0
    c = client(fake_api)
    batch = c.messages.batches.create(requests=[request("a"), request("b")])
    canceling = c.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    ended = c.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 2


def test_list_newest_first_with_pagination(fake_api: FakeAnthropic) -> None:
    c = client(fake_api)
    ids = [c.messages.batches.create(requests=[request("a")]).id for _ in range(5)]
    assert fake_api.batches.ids == ids
    assert [b.id for b in c.messages.batches.list(limit=2)] == ids[::-1]  # auto-paginated
    page = c.messages.batches.list(limit=2, after_id=ids[3])
    assert [b.id for b in page.data] == ids[2:0:-1] and page.has_more
    page = c.messages.batches.list(limit=2, before_id=ids[1])
    assert [b.id for b in page.data] == ids[3:1:-1]


def test_bad_batches_and_unknown_ids_are_rejected(fake_api: FakeAnthropic) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fake_api.port, timeout=5)

    def post(body: Any) -> tuple[int, Any]:
        conn.request("POST", "/v1/messages/batches", json.dumps(body),
                     {"content-type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())

    assert post({"requests": []})[0] == 400
    status, body = post({"requests": [request("bad id!")]})
    assert status == 400 and "custom_id" in body["error"]["message"]
    status, body = post({"requests": [request("a"), request("a")]})
    assert status == 400 and "not unique" in body["error"]["message"]
    conn.close()
    c = client(fake_api)
    with pytest.raises(anthropic.NotFoundError):
        c.messages.batches.retrieve("msgbatch_nope")
    fake_api.batches.delay = 30.0
    batch = c.messages.batches.create(requests=[request("a")])
    with pytest.raises(anthropic.AnthropicError, match="finished processing"):
        c.messages.batches.results(batch.id)  # the SDK checks results_url first
    assert fake_api.batches.submissions == {"a": 1}  # rejected batches count nothing


def test_requests_reach_the_message_logic_and_reset_forgets(fake_api: FakeAnthropic) -> None:
    seen: list[str] = []

    def fate(cid: str, params: dict[str, Any]) -> BatchFate | None:
        seen.append(prompt_text(params))
        return None

    fake_api.batches.fate = fate
    c = client(fake_api)
    c.messages.batches.create(requests=[request("a", "marker-7")])
    assert seen == ["marker-7"]
    fake_api.reset()
    assert fake_api.batches.ids == [] and fake_api.batches.submissions == {}
