"""A fake OpenAI + Anthropic HTTP API on 127.0.0.1, for tests of the real providers.

The official SDKs talk to it over real HTTP (no mocks of SDK internals): point
``AsyncOpenAI`` at :attr:`FakeLLMServer.openai_base_url` and ``AsyncAnthropic``
at :attr:`FakeLLMServer.anthropic_base_url`.

Answers are meaningful and deterministic: a chat request is answered by the
simulated models of :mod:`harness.providers.sim` -- ``sim:frontier`` when the
requested model name looks like a frontier model (``frontier``, ``gpt-4o``,
``sonnet``, ``opus``; but not ``mini``, ``haiku`` or ``small``), else
``sim:small``. Token counts follow the simulation's rule (``ceil(len / 4) + 4``
per message).

Routes (the name in parentheses keys :attr:`Stats.routes` and :meth:`script`):

* ``POST /v1/chat/completions`` (``chat.completions``)
* ``POST /v1/embeddings`` (``embeddings``): hashed bag-of-words unit vectors
* ``POST /v1/files`` (``files.create``), ``GET /v1/files/{id}/content`` (``files.content``)
* ``POST /v1/batches`` (``batches.create``), ``GET /v1/batches/{id}`` (``batches.retrieve``)
* ``POST /v1/messages`` (``messages``), ``POST /v1/messages/count_tokens``
  (``messages.count_tokens``)
* ``POST /v1/messages/batches`` (``messages.batches.create``),
  ``GET /v1/messages/batches/{id}`` (``messages.batches.retrieve``),
  ``GET /v1/messages/batches/{id}/results`` (``messages.batches.results``)

Prompt caching is simulated: OpenAI-style, the longest message prefix of an
earlier request to the same model counts as cached when it has at least
``cache_min_tokens`` tokens; Anthropic-style, the prefix up to the last message
(or system prompt) carrying ``cache_control`` is written on first sight and
read afterwards. Models named like reasoning models (``o1``, ``o3-mini``,
``gpt-5``, anything with ``reasoning``) report reasoning tokens; an Anthropic
request with ``thinking`` enabled reports thinking tokens.

Faults are scripted per route with :meth:`FakeLLMServer.script`: each request
to the route takes the next :class:`Reply` off its queue (``batch_item`` is a
pseudo-route consumed by each request inside a batch as it is processed).
Besides HTTP errors and odd bodies, a reply can be a network fault: a connection
reset before any byte (:data:`CONNECTION_RESET`) or a body cut off half-way
(:data:`TRUNCATED_BODY`). A route can also be answered by content
(:meth:`FakeLLMServer.respond`: a function of the request body gives the reply),
for requests whose order is not fixed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import socket
import struct
import threading
import time
import uuid
import warnings
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from aiohttp import web

from harness.providers.sim import FRONTIER, SMALL, SimProvider, answer, estimate_tokens
from harness.types import Message, Request, Role

PLANTED_KEY = "sk-test-PLANTED-0123456789"
"""The API key tests plant to check it never leaks into errors, logs or reports."""

BATCH_ITEM = "batch_item"
"""Pseudo-route: scripted outcomes of the requests inside a batch, one per request."""

ROUTES = (
    "chat.completions",
    "embeddings",
    "files.create",
    "files.content",
    "batches.create",
    "batches.retrieve",
    "messages",
    "messages.count_tokens",
    "messages.batches.create",
    "messages.batches.retrieve",
    "messages.batches.results",
    BATCH_ITEM,
)

REASONING_FACTOR = 3
"""Reasoning (thinking) tokens a reasoning model spends per visible output token."""

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_WORD = re.compile(r"[a-z0-9]+")
_REASONING_MODEL = re.compile(r"(^o\d)|(^gpt-5)|reasoning")
_EPOCH = "2026-01-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class Reply:
    """A scripted response for the next request to a route.

    With ``status`` >= 400 and no ``body``, the body is an error in the API's
    own format. With ``body`` set, it is sent as is (a ``str``/``bytes`` body
    verbatim, so it can be malformed JSON). Otherwise the normal answer is
    computed and ``patch`` (deep-merged) and ``finish_reason`` (the first
    choice's ``finish_reason``, or Anthropic's ``stop_reason``) are applied.
    """

    status: int = 200
    body: Any = None
    retry_after: float | None = None
    """Seconds, sent as the ``retry-after`` header."""
    retry_after_ms: float | None = None
    """Milliseconds, sent as the ``retry-after-ms`` header (the OpenAI SDK reads it)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: float = 0.0
    """Extra latency for this response only."""
    patch: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    message: str | None = None
    """Error message of the default error body."""
    disconnect: Literal["reset", "truncate"] | None = None
    """A network fault instead of a response: ``"reset"`` resets the connection (TCP RST)
    before anything is sent; ``"truncate"`` sends the headers of the normal answer (its
    full ``Content-Length``) and half of its body, then resets the connection."""
    trickle_s: float = 0.0
    """When > 0, the normal answer is sent one byte every ``trickle_s`` seconds (headers
    first): no gap is long enough for a read timeout, the whole takes minutes."""


MALFORMED_JSON = Reply(body='{"id": "chatcmpl-broken", "choices": [')
"""A 200 whose body is not valid JSON."""
EMPTY_CHOICES = Reply(patch={"choices": []})
"""A 200 chat completion with no choices."""
TRUNCATED_JSON = Reply(
    body=(
        '{"id": "chatcmpl-cut", "object": "chat.completion", "type": "message", "choices": '
        '[{"index": 0, "message": {"role": "assistant", "content": "The answer is'
    )
)
"""A 200 whose JSON stops mid-string (complete HTTP, incomplete document): either API."""
CONNECTION_RESET = Reply(disconnect="reset")
"""The connection is reset before any byte of the response is sent."""
TRUNCATED_BODY = Reply(disconnect="truncate")
"""The response stops half-way through its body (fewer bytes than its Content-Length)."""


@dataclass
class Stats:
    """What the server saw since the last :meth:`FakeLLMServer.reset`."""

    total: int = 0
    """Every HTTP request."""
    routes: Counter[str] = field(default_factory=Counter)
    """Requests per route name (and ``batch_item``: requests processed inside batches)."""
    in_flight: int = 0
    max_in_flight: int = 0
    """Most requests being handled at the same time."""
    authorization: list[str] = field(default_factory=list)
    """Every ``Authorization`` header value received."""
    api_keys: list[str] = field(default_factory=list)
    """Every ``x-api-key`` header value received."""
    bodies: defaultdict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    """Parsed JSON request bodies per route, in arrival order."""
    headers: list[dict[str, str]] = field(default_factory=list)
    """Headers of every request, in arrival order."""
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    """(``time.monotonic()`` at arrival, route name) of every request, in arrival order."""

    def __getitem__(self, route: str) -> int:
        return self.routes[route]


class _Fail(Exception):
    """A request the API would reject: becomes an error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeLLMServer:
    """The fake API, served by aiohttp on its own event loop in a background thread.

    Args:
        latency_ms: Delay before every response.
        batch_polls: Retrieves of a batch that still report it in progress
            before it reports completed (OpenAI) / ended (Anthropic).
        cache_min_tokens: Shortest prompt prefix that is (simulated as) cached.
        embedding_dim: Size of the embedding vectors (unless ``dimensions`` is sent).
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        batch_polls: int = 1,
        cache_min_tokens: int = 1024,
        embedding_dim: int = 64,
    ) -> None:
        self.latency_ms = latency_ms
        self.batch_polls = batch_polls
        self.cache_min_tokens = cache_min_tokens
        self.embedding_dim = embedding_dim
        self._defaults = (latency_ms, batch_polls, cache_min_tokens, embedding_dim)
        self.stats = Stats()
        self.files: dict[str, tuple[str, bytes]] = {}
        """File id -> (purpose, content)."""
        self.batches: dict[str, dict[str, Any]] = {}
        self.message_batches: dict[str, dict[str, Any]] = {}
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._responders: dict[str, Callable[[Any], Reply | None]] = {}
        self._seen_prefixes: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """What to pass as ``base_url`` to the OpenAI SDK."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """What to pass as ``base_url`` to the Anthropic SDK."""
        return self.url

    def start(self) -> FakeLLMServer:
        """Serve in a background thread; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # pragma: no cover - reported to start()
                failure.append(exc)
                sock.close()
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="fake-llm-server", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise RuntimeError(f"fake LLM server failed to start: {failure[0]!r}")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget stats, scripts, files, batches and cached prefixes; restore the options."""
        self.latency_ms, self.batch_polls, self.cache_min_tokens, self.embedding_dim = (
            self._defaults
        )
        self.stats = Stats()
        self._scripts.clear()
        self._responders.clear()
        self._seen_prefixes.clear()
        self.files.clear()
        self.batches.clear()
        self.message_batches.clear()

    def script(self, route: str, *replies: Reply) -> None:
        """Queue ``replies`` for the next requests to ``route`` (see :data:`ROUTES`)."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")
        self._scripts[route].extend(replies)

    def respond(self, route: str, responder: Callable[[Any], Reply | None]) -> None:
        """Answer ``route`` by content: ``responder(json_body)`` gives the reply (None: the
        normal answer) for each request no scripted reply is queued for."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")
        self._responders[route] = responder

    def pending(self, route: str) -> int:
        """Scripted replies not yet used for ``route``."""
        return len(self._scripts[route])

    def seen_secret(self, secret: str) -> bool:
        """Whether ``secret`` appeared in an Authorization or x-api-key header."""
        return any(secret in value for value in self.stats.authorization + self.stats.api_keys)

    async def _serve(self, sock: socket.socket) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        post, get = web.post, web.get
        app.add_routes(
            [
                post("/v1/chat/completions", self._route("chat.completions", self._chat)),
                post("/v1/embeddings", self._route("embeddings", self._embeddings)),
                post("/v1/files", self._route("files.create", self._file_create, json_body=False)),
                get("/v1/files/{id}/content", self._route("files.content", self._file_content)),
                post("/v1/batches", self._route("batches.create", self._batch_create)),
                get("/v1/batches/{id}", self._route("batches.retrieve", self._batch_retrieve)),
                post("/v1/messages", self._route("messages", self._messages)),
                post(
                    "/v1/messages/count_tokens",
                    self._route("messages.count_tokens", self._count_tokens),
                ),
                post(
                    "/v1/messages/batches",
                    self._route("messages.batches.create", self._mbatch_create),
                ),
                get(
                    "/v1/messages/batches/{id}",
                    self._route("messages.batches.retrieve", self._mbatch_retrieve),
                ),
                get(
                    "/v1/messages/batches/{id}/results",
                    self._route("messages.batches.results", self._mbatch_results),
                ),
            ]
        )
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, backlog=256)
        await site.start()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ plumbing

    def _route(self, name: str, produce: Any, *, json_body: bool = True) -> Any:
        anthropic = name.startswith("messages")

        async def handler(request: web.Request) -> web.StreamResponse:
            stats = self.stats
            stats.total += 1
            stats.routes[name] += 1
            stats.arrivals.append((time.monotonic(), name))
            stats.headers.append(dict(request.headers))
            if "Authorization" in request.headers:
                stats.authorization.append(request.headers["Authorization"])
            if "x-api-key" in request.headers:
                stats.api_keys.append(request.headers["x-api-key"])
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            try:
                body: Any = None
                if json_body and request.method == "POST":
                    try:
                        body = await request.json()
                    except ValueError:
                        return self._error(anthropic, 400, "request body is not valid JSON")
                    stats.bodies[name].append(body)
                queue = self._scripts.get(name)
                reply = queue.popleft() if queue else None
                if reply is None and name in self._responders:
                    reply = self._responders[name](body)
                delay = self.latency_ms + (reply.delay_ms if reply else 0.0)
                if delay > 0:
                    await asyncio.sleep(delay / 1000)
                if reply is not None and reply.disconnect == "reset":
                    return _reset(request)
                if reply is not None and (reply.status >= 400 or reply.body is not None):
                    return self._scripted(anthropic, reply)
                try:
                    result = await produce(request, body)
                except _Fail as fail:
                    return self._error(anthropic, fail.status, fail.message)
                if isinstance(result, web.StreamResponse):
                    return result
                if reply is not None:
                    result = _apply(result, reply)
                    if reply.disconnect == "truncate":
                        return await _truncated(request, result, _reply_headers(reply))
                    if reply.trickle_s > 0:
                        return await _trickled(request, result, reply)
                return web.json_response(result, headers=_reply_headers(reply))
            finally:
                stats.in_flight -= 1

        return handler

    def _scripted(self, anthropic: bool, reply: Reply) -> web.Response:
        headers = _reply_headers(reply)
        if reply.body is None:
            return self._error(
                anthropic,
                reply.status,
                reply.message or f"Scripted HTTP {reply.status} from the fake server.",
                headers,
            )
        if isinstance(reply.body, str | bytes):
            raw = reply.body.encode() if isinstance(reply.body, str) else reply.body
            return web.Response(
                status=reply.status,
                body=raw,
                headers={"Content-Type": "application/json", **headers},
            )
        return web.json_response(reply.body, status=reply.status, headers=headers)

    def _error(
        self,
        anthropic: bool,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        return web.json_response(
            _error_body(anthropic, status, message), status=status, headers=dict(headers or {})
        )

    # ------------------------------------------------------------------ answers

    async def _answer(
        self, model: str, messages: tuple[Message, ...], max_tokens: Any
    ) -> tuple[str, int, bool]:
        """(text, output tokens, truncated) from the simulated model standing in for ``model``."""
        if not messages:
            raise _Fail(400, "messages: at least one message is required")
        sim = sim_model_for(model)
        params: tuple[tuple[str, Any], ...] = ()
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            params = (("max_tokens", max_tokens),)
        response = await SimProvider().complete(
            Request(model=sim, messages=messages, params=params)
        )
        truncated = response.text != answer(sim, messages)
        return response.text, response.usage.output_tokens, truncated

    def _cached_openai(self, model: str, messages: tuple[Message, ...], counts: list[int]) -> int:
        """Tokens of the longest message prefix seen before (OpenAI's automatic caching)."""
        digest = hashlib.sha256(f"openai\x1f{model}".encode())
        best = running = 0
        keys = []
        for message, count in zip(messages, counts, strict=True):
            digest.update(json.dumps([message.role, message.content]).encode())
            running += count
            key = digest.hexdigest()
            if key in self._seen_prefixes and running >= self.cache_min_tokens:
                best = running
            keys.append(key)
        self._seen_prefixes.update(keys)
        return best

    def _cached_anthropic(
        self, model: str, messages: tuple[Message, ...], counts: list[int], breakpoint: int
    ) -> tuple[int, int]:
        """(read, written) tokens of the prefix through message ``breakpoint`` (-1: none)."""
        if breakpoint < 0:
            return 0, 0
        prefix = sum(counts[: breakpoint + 1])
        if prefix < self.cache_min_tokens:
            return 0, 0
        payload = json.dumps([[m.role, m.content] for m in messages[: breakpoint + 1]])
        key = hashlib.sha256(f"anthropic\x1f{model}\x1f{payload}".encode()).hexdigest()
        if key in self._seen_prefixes:
            return prefix, 0
        self._seen_prefixes.add(key)
        return 0, prefix

    async def _chat_completion(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _Fail(400, "body must be a JSON object")
        model = str(body.get("model") or "")
        if not model:
            raise _Fail(400, "you must provide a model parameter")
        messages = tuple(_openai_messages(body.get("messages")))
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        text, output_tokens, truncated = await self._answer(model, messages, max_tokens)
        counts = [estimate_tokens(m.content) + 4 for m in messages]
        prompt_tokens = sum(counts)
        cached = self._cached_openai(model, messages, counts)
        reasoning = REASONING_FACTOR * output_tokens if is_reasoning_model(model) else 0
        completion_tokens = output_tokens + reasoning
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "length" if truncated else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": reasoning,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
        }

    async def _anthropic_message(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _Fail(400, "body must be a JSON object")
        model = str(body.get("model") or "")
        if not model:
            raise _Fail(400, "model: Field required")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int):
            raise _Fail(400, "max_tokens: Field required")
        messages, breakpoint = _anthropic_messages(body.get("system"), body.get("messages"))
        text, output_tokens, truncated = await self._answer(model, messages, max_tokens)
        counts = [estimate_tokens(m.content) + 4 for m in messages]
        read, written = self._cached_anthropic(model, messages, counts, breakpoint)
        thinking = body.get("thinking")
        thinking_tokens = 0
        content: list[dict[str, Any]] = []
        if isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive"):
            thinking_tokens = REASONING_FACTOR * output_tokens
            content.append({"type": "thinking", "thinking": "Let me think.", "signature": "sig"})
        content.append({"type": "text", "text": text, "citations": None})
        usage: dict[str, Any] = {
            "input_tokens": sum(counts) - read - written,
            "output_tokens": output_tokens + thinking_tokens,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": written,
        }
        if thinking_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "max_tokens" if truncated else "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    # ------------------------------------------------------------------ OpenAI routes

    async def _chat(self, request: web.Request, body: Any) -> dict[str, Any]:
        return await self._chat_completion(body)

    async def _embeddings(self, request: web.Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _Fail(400, "body must be a JSON object")
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise _Fail(400, "input must be a string or a non-empty array of strings")
        if any(t == "" for t in texts):
            raise _Fail(400, "input cannot contain an empty string")
        dim = body.get("dimensions") or self.embedding_dim
        base64_format = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = hashed_embedding(text, int(dim))
            encoded: Any = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode()
                if base64_format
                else [float(x) for x in vector]
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(max(1, estimate_tokens(t)) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", ""),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def _file_create(self, request: web.Request, body: Any) -> dict[str, Any]:
        form = await request.post()
        upload = form.get("file")
        purpose = str(form.get("purpose") or "")
        if not isinstance(upload, web.FileField):
            raise _Fail(400, "file: a multipart file upload is required")
        content = upload.file.read()
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = (purpose, content)
        return _file_object(file_id, purpose, upload.filename, len(content))

    async def _file_content(self, request: web.Request, body: Any) -> web.Response:
        file_id = request.match_info["id"]
        if file_id not in self.files:
            raise _Fail(404, f"No such File object: {file_id}")
        return web.Response(body=self.files[file_id][1], content_type="application/octet-stream")

    async def _batch_create(self, request: web.Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _Fail(400, "body must be a JSON object")
        input_file_id = str(body.get("input_file_id") or "")
        if input_file_id not in self.files:
            raise _Fail(404, f"No such File object: {input_file_id}")
        endpoint = str(body.get("endpoint") or "")
        if endpoint != "/v1/chat/completions":
            raise _Fail(400, f"endpoint {endpoint!r} is not supported by the fake server")
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        lines = self.files[input_file_id][1].decode().splitlines()
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": endpoint,
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": body.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "in_progress_at": None,
            "expires_at": int(time.time()) + 86400,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {
                "total": len([ln for ln in lines if ln.strip()]),
                "completed": 0,
                "failed": 0,
            },
            "metadata": body.get("metadata"),
            "_polls": 0,
        }
        self.batches[batch_id] = batch
        return _public(batch)

    async def _batch_retrieve(self, request: web.Request, body: Any) -> dict[str, Any]:
        batch = self.batches.get(request.match_info["id"])
        if batch is None:
            raise _Fail(404, f"No such Batch object: {request.match_info['id']}")
        batch["_polls"] += 1
        if batch["status"] in ("validating", "in_progress"):
            if batch["_polls"] > self.batch_polls:
                await self._finish_batch(batch)
            else:
                batch["status"] = "in_progress"
                batch["in_progress_at"] = batch["in_progress_at"] or int(time.time())
        return _public(batch)

    async def _finish_batch(self, batch: dict[str, Any]) -> None:
        outputs: list[str] = []
        errors: list[str] = []
        for line in self.files[batch["input_file_id"]][1].decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            custom_id = item.get("custom_id")
            status, payload = await self._batch_item("openai", item.get("body"))
            row = {
                "id": f"batch_req_{uuid.uuid4().hex[:24]}",
                "custom_id": custom_id,
                "response": {
                    "status_code": status,
                    "request_id": uuid.uuid4().hex,
                    "body": payload,
                },
                "error": None,
            }
            (outputs if status == 200 else errors).append(json.dumps(row))
        now = int(time.time())
        batch.update(status="completed", finalizing_at=now, completed_at=now)
        batch["in_progress_at"] = batch["in_progress_at"] or now
        batch["request_counts"] = {
            "total": len(outputs) + len(errors),
            "completed": len(outputs),
            "failed": len(errors),
        }
        if outputs:
            batch["output_file_id"] = self._store_file("batch_output", outputs)
        if errors:
            batch["error_file_id"] = self._store_file("batch_output", errors)

    def _store_file(self, purpose: str, lines: list[str]) -> str:
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = (purpose, ("\n".join(lines) + "\n").encode())
        return file_id

    async def _batch_item(self, family: str, body: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of one request inside a batch, honouring ``batch_item`` scripts."""
        self.stats.routes[BATCH_ITEM] += 1
        anthropic = family == "anthropic"
        queue = self._scripts.get(BATCH_ITEM)
        reply = queue.popleft() if queue else None
        if reply is not None and reply.status >= 400:
            message = reply.message or f"Scripted HTTP {reply.status} from the fake server."
            return reply.status, reply.body or _error_body(anthropic, reply.status, message)
        try:
            if anthropic:
                result = await self._anthropic_message(body)
            else:
                result = await self._chat_completion(body)
        except _Fail as fail:
            return fail.status, _error_body(anthropic, fail.status, fail.message)
        if reply is not None:
            result = _apply(result, reply)
        return 200, result

    # ------------------------------------------------------------------ Anthropic routes

    async def _messages(self, request: web.Request, body: Any) -> dict[str, Any]:
        return await self._anthropic_message(body)

    async def _count_tokens(self, request: web.Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _Fail(400, "body must be a JSON object")
        messages, _ = _anthropic_messages(body.get("system"), body.get("messages"))
        return {"input_tokens": sum(estimate_tokens(m.content) + 4 for m in messages)}

    async def _mbatch_create(self, request: web.Request, body: Any) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, Mapping) else None
        if not isinstance(requests, list) or not requests:
            raise _Fail(400, "requests: a non-empty list is required")
        custom_ids = [r.get("custom_id") for r in requests if isinstance(r, Mapping)]
        if len(custom_ids) != len(requests) or len(set(custom_ids)) != len(custom_ids):
            raise _Fail(400, "requests: every request needs a unique custom_id")
        batch_id = f"msgbatch_{uuid.uuid4().hex[:24]}"
        batch = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {
                "processing": len(requests),
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": _EPOCH,
            "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
            "_requests": requests,
            "_polls": 0,
            "_results": None,
        }
        self.message_batches[batch_id] = batch
        return _public(batch)

    async def _mbatch_retrieve(self, request: web.Request, body: Any) -> dict[str, Any]:
        batch = self.message_batches.get(request.match_info["id"])
        if batch is None:
            raise _Fail(404, f"No such message batch: {request.match_info['id']}")
        batch["_polls"] += 1
        if batch["processing_status"] == "in_progress" and batch["_polls"] > self.batch_polls:
            results = []
            counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
            for item in batch["_requests"]:
                status, payload = await self._batch_item("anthropic", item.get("params"))
                if status == 200:
                    result: dict[str, Any] = {"type": "succeeded", "message": payload}
                    counts["succeeded"] += 1
                else:
                    result = {"type": "errored", "error": payload}
                    counts["errored"] += 1
                results.append(json.dumps({"custom_id": item["custom_id"], "result": result}))
            batch.update(
                processing_status="ended",
                ended_at="2026-01-01T00:01:00Z",
                request_counts=counts,
                results_url=f"{self.url}/v1/messages/batches/{batch['id']}/results",
                _results=("\n".join(results) + "\n").encode(),
            )
        return _public(batch)

    async def _mbatch_results(self, request: web.Request, body: Any) -> web.Response:
        batch = self.message_batches.get(request.match_info["id"])
        if batch is None:
            raise _Fail(404, f"No such message batch: {request.match_info['id']}")
        if batch["_results"] is None:
            raise _Fail(400, "the batch has not ended yet")
        return web.Response(body=batch["_results"], content_type="application/binary")


# --------------------------------------------------------------------------- helpers


def warm_up_http_stack() -> None:
    """One request (answered, then timed out) through each SDK, so every module of
    their HTTP stack is imported now.

    pytester's in-process runs unload the modules a run imported; were the first
    request of a process made inside one, the transport (httpcore, anyio's
    backend, h11) would be imported anew afterwards, with exception classes the
    SDK no longer recognises.
    """
    import anthropic
    import openai

    async def go(server: FakeLLMServer) -> None:
        clients: list[Any] = [
            openai.AsyncOpenAI(
                base_url=server.openai_base_url, api_key="warm-up", timeout=0.2, max_retries=0
            ),
            anthropic.AsyncAnthropic(
                base_url=server.anthropic_base_url, api_key="warm-up", timeout=0.2, max_retries=0
            ),
        ]
        try:
            for delay in (0.0, 1000.0):
                server.script("chat.completions", Reply(delay_ms=delay))
                server.script("messages", Reply(delay_ms=delay))
                for call in (
                    clients[0].chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": "Hi."}]
                    ),
                    clients[1].messages.create(
                        model="claude-3-5-haiku-latest",
                        max_tokens=8,
                        messages=[{"role": "user", "content": "Hi."}],
                    ),
                ):
                    with contextlib.suppress(openai.APIError, anthropic.APIError):
                        await call
        finally:
            for client in clients:
                await client.close()

    with FakeLLMServer() as server, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the SDK's notice of a retiring model
        asyncio.run(go(server))


def sim_model_for(model: str) -> str:
    """The simulated model answering for a real model name."""
    name = model.lower()
    if any(word in name for word in ("mini", "haiku", "small", "nano")):
        return SMALL
    if any(word in name for word in ("frontier", "gpt-4o", "sonnet", "opus")):
        return FRONTIER
    return SMALL


def is_reasoning_model(model: str) -> bool:
    """Whether the fake reports reasoning tokens for ``model``."""
    return bool(_REASONING_MODEL.search(model.lower()))


def hashed_embedding(text: str, dim: int = 64) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A deterministic unit vector: signed hashed bag of lowercased words."""
    vector = np.zeros(dim, dtype=np.float64)
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % dim
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        digest = hashlib.blake2b(text.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest, "big") % dim] = 1.0
        norm = 1.0
    return (vector / norm).astype(np.float32)


def _role(raw: Any) -> Role:
    if raw in ("system", "developer"):
        return "system"
    if raw == "assistant":
        return "assistant"
    return "user"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        )
    return ""


def _openai_messages(raw: Any) -> Iterable[Message]:
    if not isinstance(raw, list):
        raise _Fail(400, "messages must be an array")
    for item in raw:
        if not isinstance(item, Mapping):
            raise _Fail(400, "each message must be an object")
        yield Message(role=_role(item.get("role")), content=_text(item.get("content")))


def _has_cache_control(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(part, Mapping) and part.get("cache_control") for part in content
    )


def _anthropic_messages(system: Any, raw: Any) -> tuple[tuple[Message, ...], int]:
    """The conversation as sim messages, and the index of the last cache breakpoint (-1)."""
    if not isinstance(raw, list):
        raise _Fail(400, "messages: Input should be a valid list")
    out: list[Message] = []
    breakpoint = -1
    if system:
        out.append(Message(role="system", content=_text(system)))
        if _has_cache_control(system):
            breakpoint = 0
    for item in raw:
        if not isinstance(item, Mapping) or item.get("role") not in ("user", "assistant"):
            raise _Fail(400, "messages: each message needs role user or assistant")
        out.append(Message(role=_role(item["role"]), content=_text(item.get("content"))))
        if _has_cache_control(item.get("content")):
            breakpoint = len(out) - 1
    return tuple(out), breakpoint


def _error_body(anthropic: bool, status: int, message: str) -> dict[str, Any]:
    if anthropic:
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _reply_headers(reply: Reply | None) -> dict[str, str]:
    if reply is None:
        return {}
    headers = dict(reply.headers)
    if reply.retry_after is not None:
        headers["retry-after"] = _number(reply.retry_after)
    if reply.retry_after_ms is not None:
        headers["retry-after-ms"] = _number(reply.retry_after_ms)
    return headers


def _abort(request: web.Request) -> None:
    """Reset the request's connection: SO_LINGER 0 makes the close a TCP RST."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _reset(request: web.Request) -> web.Response:
    _abort(request)
    return web.Response(status=500)  # never reaches the client: the connection is gone


async def _truncated(
    request: web.Request, result: Mapping[str, Any], headers: Mapping[str, str]
) -> web.StreamResponse:
    body = json.dumps(result).encode()
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", **headers}
    )
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    _abort(request)
    return response


async def _trickled(
    request: web.Request, result: Mapping[str, Any], reply: Reply
) -> web.StreamResponse:
    body = json.dumps(result).encode()
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", **_reply_headers(reply)}
    )
    response.content_length = len(body)
    await response.prepare(request)
    for index in range(len(body)):
        await response.write(body[index : index + 1])
        await asyncio.sleep(reply.trickle_s)
    return response


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _apply(result: dict[str, Any], reply: Reply) -> dict[str, Any]:
    if reply.patch:
        result = _merge(result, reply.patch)
    if reply.finish_reason is not None:
        if result.get("choices"):
            result["choices"][0]["finish_reason"] = reply.finish_reason
        elif result.get("type") == "message":
            result["stop_reason"] = reply.finish_reason
    return result


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _file_object(file_id: str, purpose: str, filename: str, size: int) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


__all__ = [
    "BATCH_ITEM",
    "CONNECTION_RESET",
    "EMPTY_CHOICES",
    "MALFORMED_JSON",
    "PLANTED_KEY",
    "ROUTES",
    "TRUNCATED_BODY",
    "TRUNCATED_JSON",
    "FakeLLMServer",
    "Reply",
    "Stats",
    "hashed_embedding",
    "is_reasoning_model",
    "sim_model_for",
    "warm_up_http_stack",
]
