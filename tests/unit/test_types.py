"""The plain data types: how a case becomes messages, how a request is hashed, usage sums."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.types import CONTEXT_PREFIX, Case, Message, Request, Response, Usage


def user(text: str) -> Message:
    return Message(role="user", content=text)


def request(**overrides: object) -> Request:
    fields: dict[str, object] = {
        "model": "sim:frontier",
        "messages": (Message(role="system", content="Be brief."), user("Compute 2 + 2.")),
        "params": (("max_tokens", 64), ("temperature", 0)),
    }
    fields.update(overrides)
    return Request(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Case.messages


def test_case_messages_order_system_context_history_prompt() -> None:
    case = Case(
        id="c1",
        suite="s",
        prompt="What now?",
        system="You are terse.",
        context=("Alpha passage.", "Beta passage."),
        history=(user("Hi."), Message(role="assistant", content="Hello.")),
    )
    messages = case.messages()
    assert [m.role for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert messages[0].content == "You are terse."
    assert messages[1].content == f"{CONTEXT_PREFIX}\n[1] Alpha passage.\n[2] Beta passage."
    assert messages[2].content == "Understood."
    assert messages[3:5] == case.history
    assert messages[-1] == user("What now?")


def test_case_messages_minimal_is_just_the_prompt() -> None:
    case = Case(id="c1", suite="s", prompt="Compute 1 + 1.")
    assert case.messages() == (user("Compute 1 + 1."),)


def test_case_is_frozen_and_hashable() -> None:
    case = Case(id="c1", suite="s", prompt="p", tags=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        case.prompt = "other"  # type: ignore[misc]
    assert hash(case) == hash(Case(id="c1", suite="s", prompt="p", tags=("a",)))


# --------------------------------------------------------------------------- Request.hash


def test_request_hash_is_stable_and_short_hex() -> None:
    first = request().hash()
    assert first == request().hash()
    assert len(first) == 32
    int(first, 16)  # hex digits only


def test_request_hash_known_value() -> None:
    """The hash keys every golden on disk: it must not change between versions."""
    simple = Request(model="sim:frontier", messages=(user("hello"),), params=(("n", 1),))
    blob = '{"messages":[["user","hello"]],"model":"sim:frontier","params":[["n",1]]}'
    assert simple.hash() == hashlib.sha256(blob.encode()).hexdigest()[:32]
    assert Request(model="sim:frontier", messages=(user("hello"),)).hash() == (
        "0c9f59cdf5cd06b08490a3a7912a5b92"
    )


def reference_hash(req: Request) -> str:
    """The hash as first defined: ``json.dumps`` of the payload (what stored answers carry)."""
    payload = {
        "model": req.model,
        "messages": [[m.role, m.content] for m in req.messages],
        "params": [[k, v] for k, v in sorted(req.params)],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    model=st.text(),
    messages=st.lists(
        st.tuples(st.sampled_from(["system", "user", "assistant"]), st.text()), max_size=4
    ),
    params=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
)
def test_request_hash_is_the_json_dumps_hash(
    model: str, messages: list[tuple[str, str]], params: dict[str, object]
) -> None:
    """Any text (quotes, escapes, control characters, non-ASCII) and any JSON param
    (0 and 0.0, True and 1, NaN, nested): the same bytes as ``json.dumps``."""
    req = Request(
        model=model,
        messages=tuple(Message(role=role, content=content) for role, content in messages),
        params=tuple(sorted(params.items())),
    )
    assert req.hash() == reference_hash(req)


@pytest.mark.parametrize(
    "params",
    [(("t", 0),), (("t", 0.0),), (("t", False),), (("t", 1),), (("t", True),), (("t", None),)],
)
def test_request_hash_tells_equal_params_of_other_types_apart(
    params: tuple[tuple[str, object], ...],
) -> None:
    req = request(params=params)
    assert req.hash() == reference_hash(req)
    others = {request(params=((("t", v),))).hash() for v in (0, 0.0, False, 1, True, None)}
    assert len(others) == 6


def test_request_hash_ignores_batch_and_case_id() -> None:
    base = request()
    assert base.with_batch(True).hash() == base.hash()
    assert request(case_id="other-case").hash() == base.hash()
    assert request(batch=True, case_id="x").hash() == base.hash()


def test_request_hash_ignores_knowledge_version_and_timestamp() -> None:
    base = request()
    assert request(knowledge_version="v2", timestamp=12.5).hash() == base.hash()


def test_request_hash_ignores_param_order() -> None:
    assert (
        request(params=(("temperature", 0), ("max_tokens", 64))).hash()
        == request(params=(("max_tokens", 64), ("temperature", 0))).hash()
    )


@pytest.mark.parametrize(
    "change",
    [
        {"model": "sim:small"},
        {"params": (("max_tokens", 65), ("temperature", 0))},
        {"params": ()},
        {"messages": (user("Compute 2 + 2."),)},
        {"messages": (Message(role="system", content="Be brief."), user("Compute 2 + 3."))},
        {"messages": (Message(role="user", content="Be brief."), user("Compute 2 + 2."))},
    ],
    ids=["model", "param-value", "no-params", "fewer-messages", "content", "role"],
)
def test_request_hash_changes_with_model_messages_params(change: dict[str, object]) -> None:
    assert request(**change).hash() != request().hash()


def test_request_copies_keep_other_fields() -> None:
    base = request(case_id="c9", batch=True)
    routed = base.with_model("sim:small")
    assert (routed.model, routed.messages, routed.params, routed.batch, routed.case_id) == (
        "sim:small",
        base.messages,
        base.params,
        True,
        "c9",
    )
    shorter = base.with_messages((user("x"),))
    assert shorter.messages == (user("x"),) and shorter.model == base.model
    assert shorter.case_id == "c9" and shorter.batch
    assert base.with_batch(False).batch is False
    assert base.batch is True  # the original is untouched


# --------------------------------------------------------------------------- Usage, Response


def test_usage_add_and_total_input() -> None:
    a = Usage(input_tokens=10, cached_input_tokens=5, cache_write_tokens=2, output_tokens=7)
    b = Usage(input_tokens=1, output_tokens=3, reasoning_tokens=2)
    total = a + b
    assert total == Usage(
        input_tokens=11,
        cached_input_tokens=5,
        cache_write_tokens=2,
        output_tokens=10,
        reasoning_tokens=2,
    )
    assert total.total_input_tokens == 18
    assert Usage() + Usage() == Usage()


def test_response_defaults() -> None:
    response = Response(text="hi", model="sim:small")
    assert response.usage == Usage()
    assert response.error is None and not response.cache_hit and not response.batch


def test_with_model_copies_every_other_field() -> None:
    # with_model builds the copy field by field (it is on every routed case's path):
    # a field added to Request must be copied too.
    values = {
        "model": "sim:frontier",
        "messages": (Message(role="user", content="q"),),
        "params": (("temperature", 0.0),),
        "batch": True,
        "case_id": "c-1",
        "knowledge_version": "v2",
        "timestamp": 12.5,
        "purpose": "summarize",
    }
    assert set(values) == {f.name for f in dataclasses.fields(Request)}
    moved = Request(**values).with_model("sim:small")
    assert moved == dataclasses.replace(Request(**values), model="sim:small")


def test_request_hash_of_a_list_parameter() -> None:
    request = Request(
        model="openai:gpt-4o",
        messages=(Message(role="user", content="q"),),
        params=(("stop", ["\n"]),),
    )
    blob = '{"messages":[["user","q"]],"model":"openai:gpt-4o","params":[["stop",["\\n"]]]}'
    assert request.hash() == hashlib.sha256(blob.encode()).hexdigest()[:32]
    assert request.hash() == request.hash()


@pytest.mark.parametrize(
    "field",
    [
        "input_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
    ],
)
def test_usage_is_empty_only_without_any_token(field: str) -> None:
    assert Usage().empty
    assert Usage(**{field: 0}).empty
    assert not Usage(**{field: 1}).empty
