"""Compressors: send fewer input tokens.

Built in (``compress = { kind = ..., ... }``):

- ``keep_last``: keep the system prompt, the context documents and the last
  ``turns`` user turns (each with the assistant reply that follows it) before
  the question; drop older history.
- ``summarize``: like ``keep_last``, but the dropped history is first
  summarized by a model (``model``, default the request's), and the summary is
  sent in its place. The summarizer call goes through the rest of the chain to
  the provider, so it is priced like any call. Options ``keep_last`` (turns kept
  verbatim, default 2) and ``max_summary_tokens`` (default 200).
- ``retrieve``: keep only the ``top_k`` context passages that best match the
  question (Okapi BM25), with their original numbers, in their original order.
- ``instructions``: normalize white space and drop repeated lines in system and
  user messages (prompts assembled from templates often repeat rules).
- ``llmlingua``: LLMLingua(-2) token dropping at ``rate`` (optional: needs the
  ``llmlingua`` package and torch).

Every compressor is checked: one that sends *more* prompt tokens than it got
raises :class:`~harness.errors.CostEvalError` (a compressor bug, not a quality
trade-off). Built-ins check themselves; a user compressor is checked by
wrapping it in :func:`guard_compressor`. Each keeps per-request
:class:`~harness.tokens.CompressionStats` in ``stats``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.errors import ConfigError, CostEvalError, MissingDependency
from harness.strategies.base import CallNext, Strategy, compressors
from harness.strategies.options import positive_int, read_options
from harness.tokens import CompressionStats, count_message_tokens, count_tokens
from harness.types import CONTEXT_PREFIX, Message, Request, Response
from harness.words import FUNCTION_WORDS, stem

__all__ = [
    "Compressor",
    "GuardedCompressor",
    "Instructions",
    "KeepLastTurns",
    "LLMLingua",
    "Retrieve",
    "Summarize",
    "bm25_scores",
    "guard_compressor",
]


# ----------------------------------------------------------------- the check


def _question(messages: Sequence[Message]) -> str | None:
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return None


def checked_request(
    name: str,
    request: Request,
    messages: tuple[Message, ...],
    stats: list[CompressionStats],
    requested_ratio: float | None = None,
) -> Request:
    """``request`` with ``messages``, after checking they are not more tokens.

    Raises:
        CostEvalError: the compressed messages count more prompt tokens.
    """
    record = CompressionStats(
        before=count_message_tokens(request.messages),
        after=count_message_tokens(messages),
        requested_ratio=requested_ratio,
    )
    _check(name, request, record)
    stats.append(record)
    return request.with_messages(messages)


def _check(name: str, request: Request, record: CompressionStats) -> None:
    if record.after > record.before:
        case = f" on case {request.case_id!r}" if request.case_id else ""
        raise CostEvalError(
            f"compressor {name!r} returned {record.after} prompt tokens{case}, more than the "
            f"{record.before} it was given. A compressor must never add tokens: check that "
            "it does not duplicate messages or add long instructions."
        )


class Compressor:
    """Base of the built-in compressors: rewrite the messages, check, call on.

    Subclasses implement :meth:`compress` (or :meth:`rewrite` when they need a
    model call).
    """

    name = "compressor"
    stateful = False
    lever = "compress"
    """Marks the chain's compressor, whose token savings the report shows."""
    requested_ratio: float | None = None
    """The ``after / before`` ratio asked for, when the compressor takes one."""

    def __init__(self) -> None:
        self.stats: list[CompressionStats] = []

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """The messages to send instead of ``messages``."""
        raise NotImplementedError

    async def rewrite(self, request: Request, call_next: CallNext) -> tuple[Message, ...]:
        """The messages to send; by default :meth:`compress` of the request's."""
        return self.compress(request.messages)

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        messages = await self.rewrite(request, call_next)
        return await call_next(
            checked_request(self.name, request, messages, self.stats, self.requested_ratio)
        )


class GuardedCompressor:
    """Checks any compressor (a user's, by import path) for added tokens.

    The request the wrapped compressor forwards with the original question
    (the last user message) must not count more prompt tokens than the one it
    received. Other calls it makes (a summarizer's) go through unchecked.
    """

    lever = "compress"
    stateful = False

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.name = inner.name
        self.stateful = inner.stateful
        self.stats: list[CompressionStats] = []

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        question = _question(request.messages)
        before = count_message_tokens(request.messages)

        async def guarded(inner: Request) -> Response:
            if _question(inner.messages) == question:
                record = CompressionStats(before=before, after=count_message_tokens(inner.messages))
                _check(self.name, request, record)
                self.stats.append(record)
            return await call_next(inner)

        return await self.inner(request, guarded)


def guard_compressor(strategy: Strategy) -> Strategy:
    """``strategy`` checked for added tokens (built-ins, which check themselves, as they are)."""
    if isinstance(strategy, Compressor | GuardedCompressor):
        return strategy
    return GuardedCompressor(strategy)


# ----------------------------------------------------------------- keep_last


def _is_context(message: Message) -> bool:
    return message.role == "user" and message.content.startswith(CONTEXT_PREFIX)


class KeepLastTurns(Compressor):
    """Drop conversation history older than the last ``turns`` user turns."""

    name = "keep_last"

    def __init__(self, *, turns: int) -> None:
        super().__init__()
        self.turns = turns

    def keep_mask(self, messages: tuple[Message, ...]) -> list[bool]:
        """For each message, whether it is kept (the question always is)."""
        if not messages:
            return []
        earlier = messages[:-1]
        # Walk back from the question, keeping turns until the budget is spent.
        kept_user_turns = 0
        keep = [False] * len(earlier)
        for index in range(len(earlier) - 1, -1, -1):
            message = earlier[index]
            if message.role == "system" or message.content.startswith(CONTEXT_PREFIX):
                keep[index] = True
            elif message.role == "user":
                if kept_user_turns < self.turns:
                    kept_user_turns += 1
                    keep[index] = True
            elif message.role == "assistant":
                # An assistant reply belongs to the user turn before it; keep it
                # when that turn is kept (decided once we reach the user turn).
                keep[index] = kept_user_turns < self.turns
        # Replies directly after a context message ("Understood.") stay with it.
        for index in range(1, len(earlier)):
            if earlier[index].role == "assistant" and earlier[index - 1].content.startswith(
                CONTEXT_PREFIX
            ):
                keep[index] = True
        return [*keep, True]

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """The messages kept, in their original order."""
        return tuple(m for m, k in zip(messages, self.keep_mask(messages), strict=True) if k)


@compressors.register("keep_last")
def keep_last() -> Callable[[Mapping[str, Any], str], KeepLastTurns]:
    """Factory of the ``keep_last`` compressor: ``{kind = "keep_last", turns = 2}``."""

    def build(options: Mapping[str, Any], where: str) -> KeepLastTurns:
        opts = read_options(options, kind="keep_last", required=("turns",), where=where)
        return KeepLastTurns(turns=positive_int(opts["turns"], key="turns", where=where))

    return build


# ----------------------------------------------------------------- summarize

SUMMARY_INSTRUCTION = (
    "Summarize the conversation below for the assistant who will continue it. Keep every "
    "fact the user stated about themselves or their request (names, numbers, addresses, "
    "preferences, corrections: the latest value wins) as short sentences in the user's "
    "words, e.g. 'My order number is 123.'. Leave out greetings and small talk."
)
SUMMARY_HEADER = "Summary of our earlier conversation:"
SUMMARY_ACK = "Understood."
_SUMMARY_OVERHEAD = 16
"""Tokens the summary's framing adds (header, acknowledgement, message framing)."""


class Summarize(Compressor):
    """Replace old history by a model-written summary of it.

    Args:
        model: Model spec of the summarizer; None uses the request's model.
        keep_last: User turns kept verbatim before the question.
        max_summary_tokens: ``max_tokens`` of the summarizer call; a longer
            summary is cut to fit.
    """

    name = "summarize"

    def __init__(
        self, *, model: str | None = None, keep_last: int = 2, max_summary_tokens: int = 200
    ) -> None:
        super().__init__()
        self.model = model
        self.keep = KeepLastTurns(turns=keep_last)
        self.max_summary_tokens = max_summary_tokens
        self.models = (model,) if model else ()
        self.calls = 0
        """Summarizer calls made."""

    def summary_request(self, request: Request, dropped: Sequence[Message]) -> Request:
        """The call that summarizes ``dropped`` (routing metadata kept, params replaced)."""
        transcript = "\n".join(f"{m.role.capitalize()}: {m.content}" for m in dropped)
        summary = Request(
            model=self.model or request.model,
            messages=(
                Message(role="system", content=SUMMARY_INSTRUCTION),
                Message(role="user", content=f"Conversation:\n{transcript}\n\nSummarize it."),
            ),
            params=(("max_tokens", self.max_summary_tokens), ("temperature", 0)),
            batch=request.batch,
            case_id=request.case_id,
        )
        # Mark it as an auxiliary call when Request can say so, so caches and
        # routers let it through unchanged.
        summary = dataclasses.replace(summary, purpose="summarize")
        return summary

    def _cut(self, text: str) -> str:
        text = text.strip()
        while text and count_tokens(text) > self.max_summary_tokens:
            text = text[: max(0, min(len(text) - 1, self.max_summary_tokens * 4))].rstrip()
            if count_tokens(text) > self.max_summary_tokens:
                text = text[: int(len(text) * 0.9)]
        return text

    async def rewrite(self, request: Request, call_next: CallNext) -> tuple[Message, ...]:
        messages = request.messages
        mask = self.keep.keep_mask(messages)
        dropped = [m for m, k in zip(messages, mask, strict=True) if not k]
        if not dropped:
            return messages
        # A summary cannot be shorter than what it replaces: keep the history.
        if count_message_tokens(dropped) <= self.max_summary_tokens + _SUMMARY_OVERHEAD:
            return messages
        self.calls += 1
        response = await call_next(self.summary_request(request, dropped))
        summary = self._cut(response.text) if response.error is None else ""
        if not summary:
            # A failed summarizer must not silently drop the history.
            return messages
        first_dropped = mask.index(False)
        out: list[Message] = []
        for index, (message, keep) in enumerate(zip(messages, mask, strict=True)):
            if index == first_dropped:
                out.append(Message(role="user", content=f"{SUMMARY_HEADER}\n{summary}"))
                out.append(Message(role="assistant", content=SUMMARY_ACK))
            if keep:
                out.append(message)
        compressed = tuple(out)
        if count_message_tokens(compressed) > count_message_tokens(messages):
            return messages
        return compressed


@compressors.register("summarize")
def summarize() -> Callable[[Mapping[str, Any], str], Summarize]:
    """Factory of ``summarize``: ``{kind = "summarize", model = "...", keep_last = 2}``."""

    def build(options: Mapping[str, Any], where: str) -> Summarize:
        opts = read_options(
            options,
            kind="summarize",
            optional=("model", "keep_last", "max_summary_tokens"),
            where=where,
        )
        model = opts.get("model")
        if model is not None and (not isinstance(model, str) or ":" not in model):
            raise ConfigError(
                f"{where} (summarize): 'model' must be a model spec 'provider:model' "
                f"(e.g. 'sim:small'), got {model!r}."
            )
        return Summarize(
            model=model,
            keep_last=positive_int(opts.get("keep_last", 2), key="keep_last", where=where),
            max_summary_tokens=positive_int(
                opts.get("max_summary_tokens", 200),
                key="max_summary_tokens",
                where=where,
                minimum=1,
            ),
        )

    return build


# ------------------------------------------------------------------ retrieve

_PASSAGE = re.compile(r"^\s*\[(\d+)\]\s?(.*)$")
_WORD = re.compile(r"[a-z0-9]+")
_BM25_STOPWORDS = FUNCTION_WORDS | frozenset(["had", "has", "have"])


def _terms(text: str) -> list[str]:

    return [stem(w) for w in _WORD.findall(text.lower()) if w not in _BM25_STOPWORDS]


def bm25_scores(
    query: str, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75
) -> list[float]:
    """Okapi BM25 score of each document for ``query``, the documents being the corpus.

    IDF is ``ln(1 + (N - df + 0.5) / (df + 0.5))`` (never negative): Lucene's
    BM25, the ``lucene`` method of the ``bm25s`` library times ``k1 + 1`` (a
    unit test checks it against ``bm25s``). Ours rather than ``bm25s``
    because ``retrieve`` builds a new index for every request over a handful of
    passages: on 10 passages ``bm25s`` took 527 µs a call against 157 µs here
    (plus 0.16 s to import it), and the harness's budget is 0.5 ms of CPU per
    request in all (``benchmarks/README.md``).
    """
    docs = [_terms(d) for d in documents]
    if not docs:
        return []
    n = len(docs)
    avg = sum(len(d) for d in docs) / n or 1.0
    df: dict[str, int] = {}
    for doc in docs:
        for term in set(doc):
            df[term] = df.get(term, 0) + 1
    query_terms = set(_terms(query))
    scores: list[float] = []
    for doc in docs:
        tf: dict[str, int] = {}
        for term in doc:
            tf[term] = tf.get(term, 0) + 1
        score = 0.0
        for term in query_terms:
            f = tf.get(term, 0)
            if not f:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(doc) / avg))
        scores.append(score)
    return scores


class Retrieve(Compressor):
    """Keep the ``top_k`` context passages that best match the question (BM25).

    The kept passages keep their original numbers (``[7]``), so an answer that
    cites a passage cites the same number as with every passage.
    """

    name = "retrieve"

    def __init__(self, *, top_k: int) -> None:
        super().__init__()
        self.top_k = top_k

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        index = next(
            (i for i in range(len(messages) - 1, -1, -1) if _is_context(messages[i])), None
        )
        if index is None:
            return messages
        lines = messages[index].content.splitlines()[1:]
        passages = [(i, m) for i, line in enumerate(lines) if (m := _PASSAGE.match(line))]
        if len(passages) <= self.top_k:
            return messages
        passage_lines = {i for i, _ in passages}
        question = _question(messages) or ""
        if question == messages[index].content:
            # The question sits inside the documents message, on its own lines.
            question = " ".join(
                line for i, line in enumerate(lines) if i not in passage_lines and line.strip()
            )
        scores = bm25_scores(question, [m.group(2) for _, m in passages])
        ranked = sorted(range(len(passages)), key=lambda j: (-scores[j], j))
        keep = {passages[j][0] for j in ranked[: self.top_k]}
        body = [line for i, line in enumerate(lines) if i not in passage_lines or i in keep]
        content = "\n".join([CONTEXT_PREFIX, *body])
        return (
            *messages[:index],
            Message(role="user", content=content),
            *messages[index + 1 :],
        )


@compressors.register("retrieve")
def retrieve() -> Callable[[Mapping[str, Any], str], Retrieve]:
    """Factory of ``retrieve``: ``{kind = "retrieve", top_k = 3}``."""

    def build(options: Mapping[str, Any], where: str) -> Retrieve:
        opts = read_options(options, kind="retrieve", required=("top_k",), where=where)
        return Retrieve(top_k=positive_int(opts["top_k"], key="top_k", where=where, minimum=1))

    return build


# -------------------------------------------------------------- instructions

_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


class Instructions(Compressor):
    """Normalize white space and drop repeated lines in system and user messages.

    Within each message: trailing spaces go, runs of spaces and tabs inside a
    line become one (indentation is kept), runs of blank lines become one, and
    a non-blank line equal to an earlier line of the same message (ignoring
    case and spacing) is dropped. Assistant messages and the question's words
    are left as they are.
    """

    name = "instructions"

    @staticmethod
    def clean(text: str) -> str:
        """``text`` with white space normalized and repeated lines dropped."""
        seen: set[str] = set()
        out: list[str] = []
        for line in text.splitlines():
            stripped = line.rstrip()
            indent = stripped[: len(stripped) - len(stripped.lstrip())]
            body = _SPACES.sub(" ", stripped.lstrip())
            key = body.casefold()
            if key:
                if key in seen:
                    continue
                seen.add(key)
            out.append(indent + body)
        return _BLANKS.sub("\n\n", "\n".join(out)).strip("\n")

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        return tuple(
            Message(role=m.role, content=self.clean(m.content)) if m.role != "assistant" else m
            for m in messages
        )


@compressors.register("instructions")
def instructions() -> Callable[[Mapping[str, Any], str], Instructions]:
    """Factory of ``instructions`` (no options)."""

    def build(options: Mapping[str, Any], where: str) -> Instructions:
        read_options(options, kind="instructions", where=where)
        return Instructions()

    return build


# ----------------------------------------------------------------- llmlingua


class LLMLingua(Compressor):
    """LLMLingua prompt compression of the context and history (not the question).

    Args:
        rate: Share of tokens to keep, in (0, 1].
        model_name: The compressor model; default LLMLingua-2's multilingual one.
        compressor: An object with LLMLingua's ``compress_prompt`` (for tests
            and custom setups); default a ``llmlingua.PromptCompressor``.

    Raises:
        MissingDependency: llmlingua is not installed.
    """

    name = "llmlingua"
    DEFAULT_MODEL = "microsoft/llmlingua-2-xlm-roberta-large-meetingbank"

    def __init__(
        self, *, rate: float, model_name: str | None = None, compressor: Any = None
    ) -> None:
        super().__init__()
        self.rate = rate
        self.requested_ratio = rate
        if compressor is None:
            try:
                from llmlingua import (  # type: ignore[import-not-found,unused-ignore]
                    PromptCompressor,
                )
            except ImportError:
                raise MissingDependency("The llmlingua compressor", ["llmlingua"]) from None
            compressor = PromptCompressor(
                model_name=model_name or self.DEFAULT_MODEL,
                use_llmlingua2=True,
                device_map="cpu",
            )
        self._compressor = compressor

    def _shrink(self, text: str) -> str:
        result = self._compressor.compress_prompt(text, rate=self.rate)
        out = result.get("compressed_prompt", text) if isinstance(result, Mapping) else text
        return out if isinstance(out, str) and count_tokens(out) < count_tokens(text) else text

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        out: list[Message] = []
        for index, message in enumerate(messages):
            if index == last or message.role == "assistant" or not message.content.strip():
                out.append(message)
            elif _is_context(message):
                body = message.content[len(CONTEXT_PREFIX) :].lstrip("\n")
                content = f"{CONTEXT_PREFIX}\n{self._shrink(body)}"
                out.append(Message(role=message.role, content=content))
            else:
                out.append(Message(role=message.role, content=self._shrink(message.content)))
        return tuple(out)


@compressors.register("llmlingua")
def llmlingua() -> Callable[[Mapping[str, Any], str], LLMLingua]:
    """Factory of ``llmlingua``: ``{kind = "llmlingua", rate = 0.5}`` (needs llmlingua)."""

    def build(options: Mapping[str, Any], where: str) -> LLMLingua:
        opts = read_options(
            options, kind="llmlingua", required=("rate",), optional=("model_name",), where=where
        )
        rate = opts["rate"]
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not 0 < rate <= 1  # also false for NaN
        ):
            raise ConfigError(
                f"{where} (llmlingua): 'rate' is the share of tokens to keep and must be in "
                f"(0, 1], got {rate!r}."
            )
        return LLMLingua(rate=float(rate), model_name=opts.get("model_name"))

    return build
