"""The verifier stage of a semantic cache: check a candidate hit before it is served.

A similarity threshold alone cannot tell "How do I lose weight fast?" from "How
do I gain weight fast?". With ``verify`` set, every candidate at or above the
threshold is checked first; a rejected candidate is a miss (the model answers,
and its answer becomes an entry). Options::

    verify = { kind = "judge", model = "openai:gpt-4o-mini" }           # an LLM judge
    verify = { kind = "myapp.verify:same_question" }                   # a function -> bool
    verify = { kind = "myapp.verify:cross_encoder", threshold = 0.5 }  # a function -> score

- ``judge``: asks ``model`` whether the stored answer answers the new question
  (:data:`JUDGE_SYSTEM_PROMPT`; reply ``{"serve": true | false}``). Its requests
  (``purpose = "verify"``) go through the configuration's chain to the
  provider, so the executor dedupes, stores and replays them (a rerun pays
  nothing) and their cost is part of the configuration's cost per query.
  ``max_tokens`` (default 200) bounds the reply. An unreadable reply is asked
  again once; a second one, or a failed call, is an error.
- an import path ``"package.module:function"``: called as
  ``function(new_question, stored_question, stored_answer)``; it returns a
  bool (serve or not) or a number, served when ``>= threshold`` (then
  ``threshold`` is required). It may be ``async``. This is where a
  cross-encoder goes: no cross-encoder ships with the harness (one needs torch
  and downloaded weights), so wrap yours in a function.

An error of the verifier (the function raised or returned something else, the
judge call failed) is a :class:`VerifyCheck` with ``error`` set: the cache turns
it into an error row naming itself, never into a served answer.

``stored_answer`` is empty when the answers are not known texts (labelled
question pairs): the judge is then asked whether one answer serves both
questions (:data:`JUDGE_QUESTIONS_PROMPT`).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from harness.config_values import check_keys
from harness.errors import ConfigError, UnknownComponent
from harness.providers import base_model, check_model_spec
from harness.registry import load_import_path
from harness.types import Message, Request, Response

__all__ = [
    "JUDGE_MAX_TOKENS",
    "JUDGE_QUESTIONS_PROMPT",
    "JUDGE_RETRY_PROMPT",
    "JUDGE_SYSTEM_PROMPT",
    "VERIFIER_KINDS",
    "VERIFY_PURPOSE",
    "FunctionVerifier",
    "JudgeVerifier",
    "Send",
    "Verifier",
    "VerifyCheck",
    "build_verifier",
    "parse_serve",
]

VERIFY_PURPOSE = "verify"
"""``Request.purpose`` of a judge verifier's requests (routers and caches pass them on)."""

JUDGE_MAX_TOKENS = 200
"""Default ``max_tokens`` of a judge verifier's reply."""

VERIFIER_KINDS = ("judge", "package.module:function")
"""What ``verify.kind`` may be."""

Send = Callable[[Request], Awaitable[Response]]
"""Where a judge verifier's requests go: the rest of the chain, or an executor's ``send``."""

JUDGE_SYSTEM_PROMPT = """\
You check a semantic cache before it serves a stored answer. A new question arrived; \
the cache found an earlier question that looks similar, with the answer given to it. \
Decide whether that stored answer correctly and fully answers the NEW question, as if \
it had been written for it. Questions that differ in a number, a name, a place, a date, \
a negation or in what they ask for are different questions, however many words they share.

Reply with only a JSON object and no other text:
{"serve": true | false, "reason": "<one sentence>"}"""
"""The judge verifier's system prompt when the stored answer is known."""

JUDGE_QUESTIONS_PROMPT = """\
You check a semantic cache before it serves a stored answer. A new question arrived; \
the cache found an earlier question that looks similar. Decide whether the two \
questions ask the same thing, so that one correct answer serves both. Questions that \
differ in a number, a name, a place, a date, a negation or in what they ask for are \
different questions, however many words they share.

Reply with only a JSON object and no other text:
{"serve": true | false, "reason": "<one sentence>"}"""
"""The judge verifier's system prompt when no stored answer text is known (question pairs)."""

JUDGE_RETRY_PROMPT = (
    "Your reply could not be read: {problem}. Reply again with only a JSON object of the "
    'form {{"serve": true, "reason": "..."}} where serve is true or false, and nothing '
    "before or after it."
)
"""Appended, after an unreadable reply, to ask once more."""

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_YES = {"true", "yes"}
_NO = {"false", "no"}


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyCheck:
    """A verifier's decision on one candidate hit."""

    accepted: bool
    """Serve the stored answer (False when rejected or on an error)."""
    error: str | None = None
    """Why no decision could be made (the hit must not be served), or None."""
    score: float | None = None
    """The function's score, when it returned one."""
    calls: tuple[tuple[Request, Response], ...] = ()
    """The model calls made (a judge's), for pricing."""


class Verifier(Protocol):
    """What checks a candidate hit (see the module documentation)."""

    name: str
    """Shown in reports and errors: ``judge openai:gpt-4o-mini``, or the import path."""
    models: tuple[str, ...]
    """Model specs it calls (checked and priced before a run)."""

    async def check(
        self,
        new_question: str,
        stored_question: str,
        stored_answer: str,
        send: Send,
        *,
        case_id: str,
    ) -> VerifyCheck:
        """Whether ``stored_answer`` (given to ``stored_question``) may answer ``new_question``."""
        ...


class MalformedServe(ValueError):
    """A judge verifier's reply holds no readable decision."""


def parse_serve(text: str) -> bool:
    """The decision in a judge verifier's reply.

    Accepts ``{"serve": true}`` (also ``"yes"``/``"no"`` strings), inside a code
    fence or with text around it, or a reply that is just ``yes`` or ``no``.

    Raises:
        MalformedServe: no readable decision.
    """
    stripped = _FENCE.sub("", text.strip())
    words = re.findall(r"[a-z]+", stripped.casefold())
    if len(words) == 1 and words[0] in _YES | _NO:
        return words[0] in _YES
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end <= start:
        raise MalformedServe(f"no JSON object in the reply {_clip(text)!r}")
    try:
        data = json.loads(stripped[start : end + 1])
    except json.JSONDecodeError as exc:
        raise MalformedServe(f"the reply is not valid JSON ({exc.msg}): {_clip(text)!r}") from None
    value = data.get("serve") if isinstance(data, dict) else None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in _YES | _NO:
        return value.strip().casefold() in _YES
    raise MalformedServe(f'no "serve": true or false in the reply {_clip(text)!r}')


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class JudgeVerifier:
    """Ask a model whether the stored answer answers the new question.

    Args:
        model: The judge's model spec (``openai:gpt-4o-mini``).
        max_tokens: Bound of the reply.
    """

    def __init__(self, model: str, *, max_tokens: int = JUDGE_MAX_TOKENS) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.name = f"judge {model}"
        self.models = (model,)

    def params(self) -> tuple[tuple[str, Any], ...]:
        """Sampling parameters (sorted pairs): deterministic, bounded."""
        params: dict[str, Any] = {"temperature": 0, "max_tokens": self.max_tokens}
        if base_model(self.model).partition(":")[0] == "openai":
            params["seed"] = 0
        return tuple(sorted(params.items()))

    def request(
        self, new_question: str, stored_question: str, stored_answer: str, *, case_id: str = ""
    ) -> Request:
        """The judge request for one candidate hit."""
        if stored_answer:
            system = JUDGE_SYSTEM_PROMPT
            user = (
                f"[New question]\n{new_question}\n\n[Stored question]\n{stored_question}\n\n"
                f"[Stored answer]\n{stored_answer}\n\n"
                "Does the stored answer answer the new question? Reply with the JSON object only."
            )
        else:
            system = JUDGE_QUESTIONS_PROMPT
            user = (
                f"[New question]\n{new_question}\n\n[Stored question]\n{stored_question}\n\n"
                "Would the correct answer to the stored question also answer the new question? "
                "Reply with the JSON object only."
            )
        return Request(
            model=self.model,
            messages=(Message(role="system", content=system), Message(role="user", content=user)),
            params=self.params(),
            case_id=case_id,
            purpose=VERIFY_PURPOSE,
        )

    async def check(
        self,
        new_question: str,
        stored_question: str,
        stored_answer: str,
        send: Send,
        *,
        case_id: str,
    ) -> VerifyCheck:
        """One judge call (two when the first reply is unreadable)."""
        request = self.request(new_question, stored_question, stored_answer, case_id=case_id)
        response = await send(request)
        calls = [(request, response)]
        if response.error is not None:
            return VerifyCheck(
                accepted=False, error=f"verifier {self.name}: {response.error}", calls=tuple(calls)
            )
        try:
            return VerifyCheck(accepted=parse_serve(response.text), calls=tuple(calls))
        except MalformedServe as first:
            # The same request, continued: its unreadable reply, then what to fix.
            retry = request.with_messages(
                (
                    *request.messages,
                    Message(role="assistant", content=response.text),
                    Message(role="user", content=JUDGE_RETRY_PROMPT.format(problem=first)),
                )
            )
            again = await send(retry)
            calls.append((retry, again))
            if again.error is not None:
                return VerifyCheck(
                    accepted=False, error=f"verifier {self.name}: {again.error}", calls=tuple(calls)
                )
            try:
                return VerifyCheck(accepted=parse_serve(again.text), calls=tuple(calls))
            except MalformedServe as second:
                return VerifyCheck(
                    accepted=False,
                    error=f"verifier {self.name} gave no readable decision, twice: {second}",
                    calls=tuple(calls),
                )


class FunctionVerifier:
    """A user's function ``(new_question, stored_question, stored_answer) -> bool | score``.

    Args:
        function: The callable (sync or async).
        path: Its import path, for reports and errors.
        threshold: A returned score is served when ``>= threshold``; None: the
            function must return a bool.
    """

    models: tuple[str, ...] = ()

    def __init__(
        self, function: Callable[..., Any], *, path: str, threshold: float | None = None
    ) -> None:
        self.function = function
        self.name = path
        self.threshold = threshold

    async def check(
        self,
        new_question: str,
        stored_question: str,
        stored_answer: str,
        send: Send,
        *,
        case_id: str,
    ) -> VerifyCheck:
        """Call the function; a raise or an unusable return value is an error."""
        try:
            value = self.function(new_question, stored_question, stored_answer)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:  # a user's function: an error row, never a crash
            return VerifyCheck(
                accepted=False, error=f"verifier {self.name!r} raised {type(exc).__name__}: {exc}"
            )
        if isinstance(value, bool | np.bool_):
            return VerifyCheck(accepted=bool(value))
        if isinstance(value, int | float | np.integer | np.floating) and math.isfinite(value):
            if self.threshold is None:
                return VerifyCheck(
                    accepted=False,
                    error=f"verifier {self.name!r} returned the score {float(value)!r} but the "
                    "cache's verify table sets no 'threshold' to compare it with; add one "
                    "(verify = { kind = ..., threshold = 0.5 }) or return true/false.",
                )
            return VerifyCheck(accepted=float(value) >= self.threshold, score=float(value))
        return VerifyCheck(
            accepted=False,
            error=f"verifier {self.name!r} returned {_clip(repr(value))}; it must return "
            "true/false or a finite score.",
        )


def build_verifier(spec: Any, *, where: str) -> JudgeVerifier | FunctionVerifier:
    """A verifier from a cache's ``verify`` option (a table, or an import path as text).

    Raises:
        ConfigError: an unknown kind, a missing or invalid option, a function that
            cannot be imported, or a judge model that cannot read the prompt.
    """
    table: Mapping[str, Any] = {"kind": spec} if isinstance(spec, str) else spec
    if not isinstance(table, Mapping) or not isinstance(table.get("kind"), str):
        raise ConfigError(
            f"{where} must be a table with a 'kind': "
            '{ kind = "judge", model = "openai:gpt-4o-mini" } or '
            '{ kind = "package.module:function" }, got ' + _clip(repr(spec)) + "."
        )
    kind = table["kind"].strip()
    if kind == "judge":
        check_keys(table, ("kind", "model", "max_tokens"), where=f"{where} (judge)")
        model = _judge_model(table.get("model"), where=where)
        max_tokens = table.get("max_tokens", JUDGE_MAX_TOKENS)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ConfigError(
                f"{where}: 'max_tokens' must be a whole number >= 1, got {max_tokens!r}."
            )
        return JudgeVerifier(model, max_tokens=max_tokens)
    if ":" in kind:
        check_keys(table, ("kind", "threshold"), where=f"{where} ({kind})")
        function = load_import_path(kind, where=where)
        if not callable(function):
            raise ConfigError(f"{where}: {kind!r} is not callable; name a function.")
        threshold = table.get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
        ):
            raise ConfigError(f"{where}: 'threshold' must be a number, got {threshold!r}.")
        return FunctionVerifier(
            function, path=kind, threshold=None if threshold is None else float(threshold)
        )
    if kind.replace("_", "-") == "cross-encoder":
        raise ConfigError(
            f"{where}: no cross-encoder ships with the harness (one needs torch and weights "
            "downloaded from a model hub). Wrap yours in a function and name it: "
            'verify = { kind = "myapp.verify:cross_encoder_score", threshold = 0.5 }.'
        )
    raise ConfigError(
        f"{where}: unknown kind {kind!r}; use 'judge' (with a model) or an import path "
        "'package.module:function'."
    )


def _judge_model(model: Any, *, where: str) -> str:
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(
            f"{where}: the judge needs a 'model', such as 'openai:gpt-4o-mini', got {model!r}."
        )
    spec: str = model.strip()
    try:
        check_model_spec(spec, where=where)
    except UnknownComponent as exc:
        raise ConfigError(str(exc)) from None
    if base_model(spec).startswith("sim:"):
        raise ConfigError(
            f"{where}: {spec!r} is a simulated answering model; it cannot read the verifier's "
            "question. Use a real model (e.g. 'openai:gpt-4o-mini'), or a function verifier "
            "offline."
        )
    return spec
