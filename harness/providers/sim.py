"""Simulated models (``sim:frontier``, ``sim:small``): offline, free, deterministic.

These are **simulations**, not language models. They exist so the harness, its
example suites and its tests run with no network and no API key, while routing,
caching and compression still show real trade-offs. Each model reads only the
messages it receives, so a strategy that drops or rewrites messages changes
what it can answer, exactly as with a real model.

Determinism
    The same request always gets the same response. Where a simulated model
    "sometimes" errs, the choice comes from SHA-256 of the model name, a purpose
    tag and the question (the last user message, lowercased with whitespace
    collapsed and trailing punctuation removed), never from a random generator.
    Temperature and the other sampling parameters are ignored, except
    ``max_tokens`` (see "Usage and latency").

What a model answers (checked in this order, on the last user message):

1. **Arithmetic** -- the message contains ``Compute <expr>.`` where ``<expr>``
   uses integers, ``+``, ``-``, ``*`` and parentheses (e.g.
   ``Compute (17 + 4) * 3 - 8.``). The expression is parsed by a small
   recursive-descent parser (usual precedence, left to right); its number of
   binary operators is its number of *steps*. (``compute`` matches in any
   letter case but must be followed by a number, ``(`` or ``-``; an expression
   the parser cannot read gets ``I could not read that expression.``)

   * ``sim:frontier`` is always right and shows its work:
     ``Working through it step by step: 17 + 4 = 21; 21 * 3 = 63; 63 - 8 = 55.
     The answer is 55.``
   * ``sim:small`` answers tersely, ``The answer is 55.``, and is wrong with a
     probability that grows with the steps: 1-2 steps 0 %, 3 steps 35 %,
     4 steps 60 %, 5 or more steps 80 %. A wrong answer is the true value plus
     a non-zero offset between -9 and +9.

2. **Conversation memory** -- the message asks ``What is my <attribute>?``.
   Both models scan the user (and system) messages they received, oldest
   first, for sentences ``My <attribute> is <value>.`` (several may share a
   message) and answer ``Your <attribute> is <value>.``; when a fact was stated
   more than once the latest statement wins. Without it: ``I'm sorry, I don't
   have your <attribute> on record.`` Assistant messages are never read. So a
   compressor that drops the old turn holding the fact makes the model forget
   it, while one that keeps it in a summary message (``My ... is ....``) does not.

3. **Context documents** -- some user message starts ``Context documents:``
   followed by lines ``[1] passage``, ``[2] passage`` ... The question is the
   last user message (or, when that is the documents message itself, its
   lines that are not passages). Each passage is scored by how many distinct
   words it shares with the question (lowercased words, minus common stopwords);
   the best one wins, ties going to the earlier passage. If the best shares
   fewer than 2 words: ``The documents do not say.``

   * ``sim:frontier`` answers ``According to document [k]: <passage>``, with
     ``k`` the number written in the message.
   * ``sim:small`` answers ``<passage>``, but when it received more than 6
     passages it picks the second-best passage 30 % of the time (long contexts
     confuse it). Dropping irrelevant passages therefore helps the small model.

4. **Northwind Outfitters FAQ** -- questions about a fictional retailer
   (returns, refunds, shipping to the US, Canada, the UK and Australia,
   warranty, store hours, gift cards, store credit, price matching, the Trail
   Club membership, exchanges) are matched against the knowledge base in
   :mod:`harness.providers.sim_world`: each fact has keyword groups that must
   all appear and keywords that must not; the most specific matching fact
   wins. Paraphrases reach the same fact; near-misses (another country,
   another number, an added "not") reach a different one.

   * ``sim:frontier`` answers with the fact's sentence.
   * ``sim:small`` does too, except that for a question containing a negation
     (``not``, ``n't``, ``never``, ``without``) it ignores the negation 50 % of
     the time and answers the un-negated question: small models miss negation.
   * A question matching no fact but mentioning a Northwind topic (returns,
     shipping, orders, stores, gift cards...) gets ``I'm not sure about that;
     please contact support@northwind.example.``

5. **Anything else** (no fact matches and no Northwind topic is mentioned):
   ``I can help with arithmetic, your account details, documents and Northwind
   Outfitters questions.`` (both models).

Usage and latency
    ``input_tokens`` is the sum over *all* messages sent of
    ``ceil(len(content) / 4) + 4``, so fewer or shorter messages cost less.
    ``output_tokens`` is ``ceil(len(answer) / 4) + 1``, so verbose answers cost
    more. When the request's ``max_tokens`` parameter is smaller, the answer is
    cut to fit and ``output_tokens`` equals ``max_tokens``.
    ``latency_ms`` is simulated and never waited for: ``sim:frontier``
    600 ms + 8 ms per output token + 0.05 ms per input token; ``sim:small``
    150 ms + 2 ms per output token + 0.01 ms per input token.

Any other ``sim:`` model name raises :class:`~harness.errors.UnknownComponent`
(see :func:`check_model`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import UnknownComponent
from harness.providers import sim_world
from harness.types import Message, Request, Response, Usage
from harness.words import FUNCTION_WORDS

FRONTIER = "sim:frontier"
"""The large, accurate, verbose, slow and (as priced in the example) expensive model."""
SMALL = "sim:small"
"""The small, terse, fast and cheap model that errs on hard questions."""
MODELS: tuple[str, ...] = (FRONTIER, SMALL)
"""Every simulated model spec."""

FALLBACK_ANSWER = (
    "I can help with arithmetic, your account details, documents and Northwind "
    "Outfitters questions."
)
"""What both models say to anything outside their simulated skills."""
NO_DOCUMENT_ANSWER = "The documents do not say."
"""The answer when no passage shares at least 2 words with the question."""

# Probability that sim:small gets an arithmetic problem wrong, by number of steps;
# 5 and more steps use the last entry.
SMALL_ARITHMETIC_ERROR: dict[int, float] = {1: 0.0, 2: 0.0, 3: 0.35, 4: 0.6, 5: 0.8}
SMALL_WRONG_PASSAGE = 0.3
"""Probability that sim:small picks the second-best passage among > 6 passages."""
SMALL_LONG_CONTEXT = 6
"""Passage count above which sim:small may pick the wrong passage."""
SMALL_IGNORES_NEGATION = 0.5
"""Probability that sim:small ignores the negation of an FAQ question."""
MIN_OVERLAP = 2
"""Fewest shared words for a passage to count as answering the question."""

STOPWORDS = FUNCTION_WORDS | frozenset(
    [
        "about",
        "being",
        "could",
        "had",
        "has",
        "have",
        "many",
        "may",
        "might",
        "much",
        "per",
        "shall",
        "such",
        "there",
        "us",
        "whom",
        "whose",
    ]
)
"""Words ignored when matching passages to a question."""


def check_model(spec: str) -> None:
    """Raise unless ``spec`` names a simulated model (``sim:frontier`` or ``sim:small``).

    Raises:
        UnknownComponent: with close names suggested ("Did you mean: sim:frontier?").
    """
    if spec not in MODELS:
        raise UnknownComponent("sim model", spec, MODELS)


class SimProvider:
    """The ``sim:`` provider: answers every request offline, instantly, deterministically.

    See the module documentation for how each simulated model behaves.
    """

    name = "sim"

    async def complete(self, request: Request) -> Response:
        """Answer ``request`` as the simulated model it names.

        Raises:
            UnknownComponent: ``request.model`` is not a simulated model.
        """
        check_model(request.model)
        text = answer(request.model, request.messages)
        input_tokens = sum(estimate_tokens(m.content) + 4 for m in request.messages)
        output_tokens = estimate_tokens(text) + 1
        max_tokens = dict(request.params).get("max_tokens")
        if (
            isinstance(max_tokens, int)
            and not isinstance(max_tokens, bool)
            and 0 < max_tokens < output_tokens
        ):
            # Cut the text so that ceil(len/4) + 1 == max_tokens, like a real
            # model stopping at the limit mid-sentence.
            text = text[: (max_tokens - 1) * 4]
            output_tokens = max_tokens
        return Response(
            text=text,
            model=request.model,
            usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            latency_ms=simulated_latency(request.model, input_tokens, output_tokens),
            batch=request.batch,
        )


def estimate_tokens(text: str) -> int:
    """Rough token count: one token per 4 characters, rounded up."""
    return math.ceil(len(text) / 4)


def simulated_latency(model: str, input_tokens: int, output_tokens: int) -> float:
    """The latency the simulated ``model`` reports, in milliseconds (never slept)."""
    if model == FRONTIER:
        ms = 600.0 + 8.0 * output_tokens + 0.05 * input_tokens
    else:
        ms = 150.0 + 2.0 * output_tokens + 0.01 * input_tokens
    return round(ms, 1)


def answer(model: str, messages: Sequence[Message]) -> str:
    """The text simulated ``model`` replies to ``messages`` (no usage, no checks).

    Pure and synchronous, so the suite generator and tests can call it directly.
    """
    question = _last_user(messages)
    arithmetic = _ARITHMETIC.search(question)
    if arithmetic:
        return _answer_arithmetic(model, question, arithmetic.group(1))
    memory = _MEMORY_QUESTION.search(question)
    if memory:
        return _answer_memory(messages, memory.group(1))
    documents = _documents(messages)
    if documents is not None:
        return _answer_documents(model, question, messages, documents)
    return _answer_faq(model, question)


def _last_user(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""


def _unit(model: str, purpose: str, question: str) -> float:
    """A number in [0, 1) fixed by the model, the purpose and the question.

    The question is normalized (case, whitespace, trailing punctuation) so that
    trivially re-typed questions get the same behaviour.
    """
    key = " ".join(question.lower().split()).rstrip(" ?!.")
    digest = hashlib.sha256(f"{model}\x1f{purpose}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


# --------------------------------------------------------------------------- arithmetic

_ARITHMETIC = re.compile(r"\bcompute\s+([-(0-9][-+*()0-9\s]*)", re.IGNORECASE)
_TOKEN = re.compile(r"\s*(\d+|[-+*()])")
_MAX_DEPTH = 60  # parentheses nesting we accept before calling the input malformed


class _ParseError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class _Step:
    left: int
    op: str
    right: int
    result: int

    def __str__(self) -> str:
        return f"{_show(self.left)} {self.op} {_show(self.right)} = {self.result}"


def _show(value: int) -> str:
    # Negative operands in parentheses keep "2 - (-5)" readable.
    return f"({value})" if value < 0 else str(value)


class _Parser:
    """Recursive descent over ``expr := term (('+'|'-') term)*``,
    ``term := factor ('*' factor)*``, ``factor := INT | '(' expr ')' | '-' factor``.

    Evaluates while parsing and records each binary operation in the order it is
    evaluated, which is the order a person works through it.
    """

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise _ParseError(text[pos:])
            self.tokens.append(match.group(1))
            pos = match.end()
        self.pos = 0
        self.depth = 0
        self.steps: list[_Step] = []

    def parse(self) -> int:
        value = self._expr()
        if self.pos != len(self.tokens):
            raise _ParseError(" ".join(self.tokens[self.pos :]))
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise _ParseError("unexpected end")
        self.pos += 1
        return token

    def _binary(self, left: int, op: str, right: int) -> int:
        result = left + right if op == "+" else left - right if op == "-" else left * right
        self.steps.append(_Step(left, op, right, result))
        return result

    def _expr(self) -> int:
        value = self._term()
        while self._peek() in ("+", "-"):
            op = self._take()
            value = self._binary(value, op, self._term())
        return value

    def _term(self) -> int:
        value = self._factor()
        while self._peek() == "*":
            self._take()
            value = self._binary(value, "*", self._factor())
        return value

    def _factor(self) -> int:
        token = self._take()
        if token.isdigit():
            return int(token)
        if token == "-":
            return -self._factor()
        if token == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise _ParseError("nested too deeply")
            value = self._expr()
            if self._take() != ")":
                raise _ParseError("missing ')'")
            self.depth -= 1
            return value
        raise _ParseError(token)


def evaluate(expression: str) -> tuple[int, list[str]]:
    """Value of an integer expression and its steps (``"17 + 4 = 21"``), in order.

    Raises:
        ValueError: the expression is not integers, ``+ - *`` and parentheses.
    """
    parser = _Parser(expression)
    value = parser.parse()
    return value, [str(step) for step in parser.steps]


def _answer_arithmetic(model: str, question: str, expression: str) -> str:
    try:
        value, steps = evaluate(expression)
    except ValueError:
        return "I could not read that expression."
    if model == FRONTIER:
        if not steps:
            return f"The answer is {value}."
        return f"Working through it step by step: {'; '.join(steps)}. The answer is {value}."
    error_rate = SMALL_ARITHMETIC_ERROR[min(max(len(steps), 1), 5)]
    if _unit(model, "arithmetic", question) < error_rate:
        # A deterministic non-zero slip in [-9, 9]: magnitude and sign from the hash.
        slip = _unit(model, "arithmetic-slip", question)
        magnitude = 1 + int(slip * 18) % 9
        value += magnitude if int(slip * 36) % 2 == 0 else -magnitude
    return f"The answer is {value}."


# --------------------------------------------------------------------------- memory

_MEMORY_QUESTION = re.compile(r"\bwhat\s+is\s+my\s+([a-z][a-z -]*?)\s*(?:[?.!]|$)", re.IGNORECASE)
# "My <attribute> is <value>." The value ends at a period followed by a space or
# the end, so "ana.lopez@example.com" stays whole.
_FACT = re.compile(
    r"\bmy\s+(?P<attr>[a-z][a-z -]{0,40}?)\s+is\s+(?P<value>\S.*?)[.!](?=\s|$)",
    re.IGNORECASE,
)


def _attr_key(attribute: str) -> str:
    return " ".join(attribute.lower().split())


def _answer_memory(messages: Sequence[Message], attribute: str) -> str:
    wanted = _attr_key(attribute)
    found: str | None = None
    for message in messages:
        # System messages count too, so a summarizing compressor that keeps the
        # facts in a system note is rewarded; assistant turns never do.
        if message.role == "assistant":
            continue
        for match in _FACT.finditer(message.content):
            if _attr_key(match.group("attr")) == wanted:
                found = match.group("value").strip()  # later statements overwrite
    shown = " ".join(attribute.split())
    if found is None:
        return f"I'm sorry, I don't have your {shown} on record."
    return f"Your {shown} is {found}."


# --------------------------------------------------------------------------- documents

_DOCS_HEADER = "Context documents:"
_PASSAGE = re.compile(r"^\s*\[(\d+)\]\s*(.*?)\s*$")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Documents:
    passages: tuple[tuple[str, str], ...]
    """(number as written, passage text), in order."""
    extra: str
    """Lines of the documents message that are not passages (an inline question)."""
    message_index: int


def _documents(messages: Sequence[Message]) -> _Documents | None:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role != "user" or not message.content.lstrip().startswith(_DOCS_HEADER):
            continue
        body = message.content.lstrip()[len(_DOCS_HEADER) :]
        passages: list[tuple[str, str]] = []
        extra: list[str] = []
        for line in body.splitlines():
            match = _PASSAGE.match(line)
            if match:
                passages.append((match.group(1), match.group(2)))
            elif line.strip():
                extra.append(line.strip())
        return _Documents(tuple(passages), " ".join(extra), index)
    return None


def content_words(text: str) -> set[str]:
    """The lowercased words of ``text`` minus stopwords (what passages are matched on)."""
    return {word for word in _WORD.findall(text.lower()) if word not in STOPWORDS}


def rank_passages(question: str, passages: Sequence[str]) -> list[tuple[int, int]]:
    """``(overlap, index)`` for every passage, best first (ties: earlier passage first)."""
    wanted = content_words(question)
    scored = [(len(wanted & content_words(p)), i) for i, p in enumerate(passages)]
    return sorted(scored, key=lambda pair: (-pair[0], pair[1]))


def _answer_documents(
    model: str, question: str, messages: Sequence[Message], documents: _Documents
) -> str:
    last_user = max(i for i, m in enumerate(messages) if m.role == "user")
    if last_user == documents.message_index:
        question = documents.extra  # the question sits inside the documents message
    if not documents.passages:
        return NO_DOCUMENT_ANSWER
    ranking = rank_passages(question, [text for _, text in documents.passages])
    overlap, pick = ranking[0]
    if overlap < MIN_OVERLAP:
        return NO_DOCUMENT_ANSWER
    if (
        model == SMALL
        and len(documents.passages) > SMALL_LONG_CONTEXT
        and _unit(model, "documents", question) < SMALL_WRONG_PASSAGE
    ):
        pick = ranking[1][1]
    number, passage = documents.passages[pick]
    if model == FRONTIER:
        return f"According to document [{number}]: {passage}"
    return passage


# --------------------------------------------------------------------------- FAQ


def _answer_faq(model: str, question: str) -> str:
    ignore_negation = (
        model == SMALL
        and sim_world.has_negation(sim_world.normalize_question(question))
        and _unit(model, "negation", question) < SMALL_IGNORES_NEGATION
    )
    fact = sim_world.match_fact(question, ignore_negation=ignore_negation)
    if fact is not None:
        return fact.answer
    if sim_world.in_domain(question):
        return sim_world.NO_MATCH_ANSWER
    return FALLBACK_ANSWER
