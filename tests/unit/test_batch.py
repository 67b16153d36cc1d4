"""Batch APIs: OpenAI Batch and Anthropic Message Batches, through the real SDKs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from harness.errors import ProviderError, UnknownComponent
from harness.providers.batch import MemoryBatchStore, run_batch
from harness.providers.sim import answer
from harness.types import Message, Request, Response
from tests.fakes import BATCH_ITEM, PLANTED_KEY, FakeLLMServer, Reply

pytest_plugins = ["tests.fakes.fixtures"]

PROVIDERS = ["openai", "anthropic"]
MODELS = {"openai": "openai:gpt-4o", "anthropic": "anthropic:claude-sonnet-4-5"}
SMALL = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-3-5-haiku"}


def requests(prefix: str, n: int = 3, *, model: str | None = None) -> list[Request]:
    return [
        Request(
            model=model or MODELS[prefix],
            messages=(
                Message(role="system", content="Answer briefly."),
                Message(role="user", content=f"Compute {i} + {i} * 2."),
            ),
            params=(("max_tokens", 200),),
            batch=True,
            case_id=f"c-{i}",
        )
        for i in range(n)
    ]


def options(fake: FakeLLMServer, prefix: str, **extra: Any) -> dict[str, Any]:
    base_url = fake.openai_base_url if prefix == "openai" else fake.anthropic_base_url
    return {"base_url": base_url, "api_key": PLANTED_KEY, **extra}


def batch(
    fake: FakeLLMServer,
    prefix: str,
    reqs: list[Request],
    store: MemoryBatchStore,
    *,
    progress: list[str] | None = None,
    **extra: Any,
) -> dict[str, Response]:
    return asyncio.run(
        run_batch(
            prefix,
            reqs,
            client_options=options(fake, prefix, **extra),
            store=store,
            poll_interval=0.01,
            progress=None if progress is None else progress.append,
        )
    )


CREATE = {"openai": "batches.create", "anthropic": "messages.batches.create"}
RETRIEVE = {"openai": "batches.retrieve", "anthropic": "messages.batches.retrieve"}


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_round_trip(fake_llm: FakeLLMServer, prefix: str) -> None:
    fake_llm.batch_polls = 2
    reqs = requests(prefix)
    store = MemoryBatchStore()
    lines: list[str] = []
    out = batch(fake_llm, prefix, reqs, store, progress=lines)
    assert list(out) == [r.hash() for r in reqs]
    for request in reqs:
        response = out[request.hash()]
        assert response.error is None
        assert response.batch is True
        assert response.model == request.model
        assert response.text == answer("sim:frontier", request.messages)
        assert response.usage.input_tokens > 0
        assert response.usage.output_tokens > 0
    assert fake_llm.stats[CREATE[prefix]] == 1
    assert fake_llm.stats[RETRIEVE[prefix]] >= 3  # in progress twice, then ended
    assert fake_llm.stats[BATCH_ITEM] == 3
    assert fake_llm.stats["chat.completions"] == fake_llm.stats["messages"] == 0
    assert store.batches == {}
    assert len(store.finished) == 1
    assert any("submitted 3 requests" in line for line in lines)
    assert PLANTED_KEY not in "\n".join(lines)


def test_openai_batch_file_format(fake_llm: FakeLLMServer) -> None:
    reqs = requests("openai", 2)
    batch(fake_llm, "openai", reqs, MemoryBatchStore())
    assert fake_llm.stats["files.create"] == 1
    assert fake_llm.stats["files.content"] == 1
    body = fake_llm.stats.bodies["batches.create"][0]
    assert body["endpoint"] == "/v1/chat/completions"
    assert body["completion_window"] == "24h"
    [content] = [data for purpose, data in fake_llm.files.values() if purpose == "batch"]
    lines = content.decode().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["custom_id"] == reqs[0].hash()
    assert first["url"] == "/v1/chat/completions"
    assert first["body"]["model"] == "gpt-4o"
    assert first["body"]["max_completion_tokens"] == 200


def test_anthropic_batch_params(fake_llm: FakeLLMServer) -> None:
    reqs = requests("anthropic", 2)
    batch(fake_llm, "anthropic", reqs, MemoryBatchStore())
    body = fake_llm.stats.bodies["messages.batches.create"][0]
    first = body["requests"][0]
    assert first["custom_id"] == reqs[0].hash()
    assert first["params"]["model"] == "claude-sonnet-4-5"
    assert first["params"]["system"] == [{"type": "text", "text": "Answer briefly."}]
    assert first["params"]["max_tokens"] == 200
    assert fake_llm.stats["messages.batches.results"] == 1


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_one_batch_per_model_and_duplicates_sent_once(fake_llm: FakeLLMServer, prefix: str) -> None:
    reqs = requests(prefix, 2) + requests(prefix, 2, model=SMALL[prefix]) + requests(prefix, 1)
    out = batch(fake_llm, prefix, reqs, MemoryBatchStore())
    assert len(out) == 4
    assert fake_llm.stats[CREATE[prefix]] == 2
    assert fake_llm.stats[BATCH_ITEM] == 4
    small = requests(prefix, 1, model=SMALL[prefix])[0]
    assert out[small.hash()].text == answer("sim:small", small.messages)


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_failed_request_inside_a_batch(fake_llm: FakeLLMServer, prefix: str) -> None:
    fake_llm.script(BATCH_ITEM, Reply(), Reply(400, message="max_tokens is too large"))
    reqs = requests(prefix)
    out = batch(fake_llm, prefix, reqs, MemoryBatchStore())
    good, bad, also_good = (out[r.hash()] for r in reqs)
    assert good.error is None and also_good.error is None
    assert bad.text == ""
    assert bad.batch is True
    assert bad.error is not None
    assert bad.error.startswith("BatchRequestFailed")
    assert "max_tokens is too large" in bad.error


def test_failed_openai_batch_gives_errors_and_is_finished(fake_llm: FakeLLMServer) -> None:
    fake_llm.batch_polls = 0
    fake_llm.script(
        "batches.retrieve",
        Reply(
            patch={
                "status": "failed",
                "output_file_id": None,
                "errors": {"object": "list", "data": [{"message": "input file is invalid"}]},
            }
        ),
    )
    store = MemoryBatchStore()
    out = batch(fake_llm, "openai", requests("openai", 2), store)
    for response in out.values():
        assert response.error is not None
        assert "status 'failed'" in response.error
        assert "input file is invalid" in response.error
    assert store.batches == {}


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_submission_failure_gives_error_responses(fake_llm: FakeLLMServer, prefix: str) -> None:
    fake_llm.script(CREATE[prefix], Reply(400, message="bad batch"))
    store = MemoryBatchStore()
    out = batch(fake_llm, prefix, requests(prefix, 2), store, max_retries=0)
    for response in out.values():
        assert response.error is not None
        assert response.error.startswith("batch submission failed: BadRequestError (HTTP 400)")
    assert store.batches == {}


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_interrupted_batch_is_resumed_not_resubmitted(fake_llm: FakeLLMServer, prefix: str) -> None:
    reqs = requests(prefix)
    store = MemoryBatchStore()
    fake_llm.batch_polls = 10**9  # never ends during the first run

    async def interrupted() -> None:
        await asyncio.wait_for(
            run_batch(
                prefix,
                reqs,
                client_options=options(fake_llm, prefix),
                store=store,
                poll_interval=0.01,
            ),
            timeout=0.3,
        )

    with pytest.raises(TimeoutError):
        asyncio.run(interrupted())
    assert len(store.batches) == 1
    assert fake_llm.stats[CREATE[prefix]] == 1

    fake_llm.batch_polls = 0  # the provider finishes the batch meanwhile
    lines: list[str] = []
    out = batch(fake_llm, prefix, reqs, store, progress=lines)
    assert fake_llm.stats[CREATE[prefix]] == 1  # resumed, not paid for twice
    assert all(out[r.hash()].error is None for r in reqs)
    assert out[reqs[0].hash()].text == answer("sim:frontier", reqs[0].messages)
    assert any("resuming" in line for line in lines)
    assert store.batches == {}


def test_resume_only_sends_what_no_pending_batch_holds(fake_llm: FakeLLMServer) -> None:
    first = requests("openai", 2)
    store = MemoryBatchStore()
    fake_llm.batch_polls = 10**9

    async def interrupted() -> None:
        await asyncio.wait_for(
            run_batch(
                "openai",
                first,
                client_options=options(fake_llm, "openai"),
                store=store,
                poll_interval=0.01,
            ),
            timeout=0.3,
        )

    with pytest.raises(TimeoutError):
        asyncio.run(interrupted())
    fake_llm.batch_polls = 0
    more = requests("openai", 4)  # the first two plus two new ones
    out = batch(fake_llm, "openai", more, store)
    assert fake_llm.stats["batches.create"] == 2  # the pending one, plus one for the new two
    assert all(r.error is None for r in out.values())
    assert len(out) == 4
    new_batch = fake_llm.stats.bodies["batches.create"][1]
    content = fake_llm.files[new_batch["input_file_id"]][1].decode()
    assert len(content.splitlines()) == 2


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_unpollable_batch_stays_pending(fake_llm: FakeLLMServer, prefix: str) -> None:
    fake_llm.script(RETRIEVE[prefix], *[Reply(500, message="down")] * 5)
    store = MemoryBatchStore()
    reqs = requests(prefix, 2)
    out = batch(fake_llm, prefix, reqs, store, max_retries=0)
    for response in out.values():
        assert response.error is not None
        assert "could not be polled" in response.error
        assert "next run resumes it" in response.error
    assert len(store.batches) == 1
    again = batch(fake_llm, prefix, reqs, store)
    assert all(r.error is None for r in again.values())
    assert fake_llm.stats[CREATE[prefix]] == 1
    assert store.batches == {}


def test_rejects_other_providers() -> None:
    store = MemoryBatchStore()
    with pytest.raises(UnknownComponent):
        asyncio.run(run_batch("sim", [], client_options={}, store=store))
    wrong = requests("anthropic", 1)
    with pytest.raises(ProviderError, match="another provider"):
        asyncio.run(run_batch("openai", wrong, client_options={}, store=store))
    assert asyncio.run(run_batch("openai", [], client_options={}, store=store)) == {}
