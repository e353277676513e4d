from __future__ import annotations

import dataclasses

import pytest

import agentlab as al
from agentlab.runs import _cachekey
from agentlab.runs._cachekey import cache_key, options_payload


def _request(options: al.GenerationOptions) -> al.Request:
    return al.Request(system="sys", messages=(al.Message("user", "hi"),), model="m",
                      options=options)


def test_every_option_field_enters_the_key() -> None:
    base = al.GenerationOptions(max_tokens=100)
    assert set(options_payload(base)) == {f.name for f in dataclasses.fields(base)}
    keys = {cache_key(_request(base), "ns", 0)}
    for changed in (dataclasses.replace(base, max_tokens=101),
                    dataclasses.replace(base, temperature=0.5),
                    dataclasses.replace(base, top_p=0.9),
                    dataclasses.replace(base, seed=3),
                    dataclasses.replace(base, stop=("END",))):
        keys.add(cache_key(_request(changed), "ns", 0))
    assert len(keys) == 6


def test_a_new_option_field_changes_the_key() -> None:
    @dataclasses.dataclass(frozen=True)
    class Extended(al.GenerationOptions):
        top_k: int | None = None

    plain = cache_key(_request(al.GenerationOptions(max_tokens=100)), "ns", 0)
    unset = cache_key(_request(Extended(max_tokens=100)), "ns", 0)
    set_ = cache_key(_request(Extended(max_tokens=100, top_k=5)), "ns", 0)
    assert len({plain, unset, set_}) == 3


def test_excluded_fields_do_not_enter_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cachekey, "OPTIONS_EXCLUDED", frozenset({"seed"}))
    a = cache_key(_request(al.GenerationOptions(max_tokens=100, seed=1)), "ns", 0)
    b = cache_key(_request(al.GenerationOptions(max_tokens=100, seed=2)), "ns", 0)
    assert a == b


def test_namespace_and_repeat_enter_the_key() -> None:
    req = _request(al.GenerationOptions(max_tokens=100))
    assert len({cache_key(req, "a", 0), cache_key(req, "b", 0), cache_key(req, "a", 1)}) == 3
