"""Your own get/set cache by import path: built, scored and counted like the built-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config.settings import StrategySpec
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.errors import ConfigError
from harness.strategies.chain import build_cache
from harness.strategies.user_cache import UserCache
from harness.types import Message, Request, Response
from tests.unit.tiny_project import FAQ, make_settings


class DictCache:
    """A team's cache: keyed by the lower-cased question, optionally async."""

    def __init__(self, *, prefix: str = "", use_async: bool = False) -> None:
        self.prefix = prefix
        self.use_async = use_async
        self.entries: dict[str, str] = {}

    def _key(self, request: Request) -> str:
        return self.prefix + request.messages[-1].content.lower().strip(" ?.")

    def lookup(self, request: Request) -> Any:
        found = self.entries.get(self._key(request))
        if self.use_async:

            async def later() -> str | None:
                return found

            return later()
        return found

    def store(self, request: Request, answer: str) -> None:
        self.entries[self._key(request)] = answer


class Broken(DictCache):
    def lookup(self, request: Request) -> Any:
        if "boom" in request.messages[-1].content:
            raise RuntimeError("redis is down")
        return 42 if "number" in request.messages[-1].content else None


def request(text: str, version: str | None = "v1") -> Request:
    return Request(
        model="sim:frontier",
        messages=(Message(role="user", content=text),),
        case_id=text,
        knowledge_version=version,
    )


async def answer(req: Request) -> Response:
    return Response(text=f"answer to {req.messages[-1].content}", model="sim:frontier")


def send(cache: Any, *requests: Request) -> list[Response]:
    import asyncio

    async def go() -> list[Response]:
        return [await cache(r, answer) for r in requests]

    return asyncio.run(go())


@pytest.mark.parametrize("use_async", [False, True])
def test_a_get_set_class_becomes_a_cache(use_async: bool) -> None:
    cache = build_cache(
        StrategySpec(kind="tests.unit.test_user_cache:DictCache", options={"use_async": use_async}),
        "config 'c'.cache",
    )
    assert isinstance(cache, UserCache) and cache.stateful
    first, again, other = send(
        cache, request("Refund window?"), request("refund window"), request("Ship?")
    )
    assert not first.cache_hit and again.cache_hit and not other.cache_hit
    assert again.text == first.text and again.model == "sim:frontier"
    assert [e.hit for e in cache.events] == [False, True, False]


def test_a_hit_stored_under_another_version_is_stale() -> None:
    cache = build_cache(StrategySpec(kind="tests.unit.test_user_cache:DictCache"), "c")
    hit_same, hit_new = send(
        cache, request("Refund window?"), request("refund window"), request("refund window", "v2")
    )[1:]
    assert hit_same.cache_hit and hit_new.cache_hit
    assert [e.stale for e in cache.events if e.hit] == [False, True]


def test_user_errors_are_error_rows_naming_the_cache() -> None:
    cache = build_cache(StrategySpec(kind="tests.unit.test_user_cache:Broken"), "c")
    boom, number = send(cache, request("boom?"), request("number?"))
    assert boom.error == (
        "cache 'tests.unit.test_user_cache:Broken': lookup raised RuntimeError: redis is down"
    )
    assert number.error == (
        "cache 'tests.unit.test_user_cache:Broken': lookup must return a str or None, got int."
    )


def test_options_the_class_does_not_take() -> None:
    with pytest.raises(ConfigError, match=r"cannot be built with \['colour'\]: .*colour"):
        build_cache(
            StrategySpec(kind="tests.unit.test_user_cache:DictCache", options={"colour": "red"}),
            "config 'c'.cache",
        )


def test_through_the_pipeline_the_report_counts_its_hits(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    path = tmp_path / "suites" / "faq.yaml"
    path.write_text(FAQ)
    config = {
        "name": "ours",
        "model": "sim:frontier",
        "cache": {"kind": "tests.unit.test_user_cache:DictCache"},
    }
    settings = make_settings(tmp_path, [config])
    suites = load_suites([path], settings)
    outcome = run(prepare(settings), suites, [("faq", "ours")], update_goldens="new")
    (summary,) = outcome.summaries
    cache = summary.extras["cache"]
    assert cache["kind"] == "tests.unit.test_user_cache:DictCache"
    # f2 and f4 hit (DictCache ignores versions); f4's answer was stored under v1: stale.
    assert cache["hits"]["k"] == 2 and cache["stale_hits"]["k"] == 1
    assert "compression" not in summary.extras  # a user cache is no compressor
    hits = [r.case_id for r in outcome.results if r.cache_hit]
    assert hits == ["f2", "f4"]
