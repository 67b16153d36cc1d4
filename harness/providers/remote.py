"""What the real (network) providers share: options, clients, limits, error rows.

:class:`RemoteProvider` holds the options every SDK-backed provider takes,
creates the SDK's async client lazily (once per event loop, see
:class:`LoopBound`), bounds concurrency, applies the client-side rate limits
of :mod:`.limits`, times the call, and turns every failure into an error
:class:`~harness.types.Response` whose text never holds the API key.
Subclasses implement :meth:`RemoteProvider._make_client` and
:meth:`RemoteProvider._call`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from harness.errors import ProviderError
from harness.providers.limits import RateLimiter, estimate_request_tokens
from harness.providers.redact import safe_error
from harness.providers.sdk_http import DEADLINE_NOTE
from harness.types import Request, Response, Usage

log = logging.getLogger(__name__)

ClientT = TypeVar("ClientT")

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What ``api_key_env`` must look like: an environment variable's name."""

PLACEHOLDER_KEY = "no-key-needed"
"""Sent when a custom base URL is set and no key is: local servers and proxies need none."""


class CallFailed(Exception):
    """A call that returned but cannot be used (no choices, content filter, refusal,
    an answer cut at ``max_tokens``, a body that is not what the API sends).

    Raised by a provider's ``_call``; becomes ``"<kind>: <message> (after N attempts)"``.
    ``usage`` is what the call was billed for when the response said so (a truncated
    answer is paid for): the error row carries it, so the run's cost stays honest.
    """

    def __init__(
        self, kind: str, message: str, *, attempts: int = 1, usage: Usage | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.attempts = attempts
        self.usage = usage or Usage()


def parse_answer(build: Callable[[], Answer], *, what: str, attempts: int) -> Answer:
    """``build()`` the answer from a provider's body; a body that is not ``what`` the
    API sends becomes ``InvalidResponse``. Either failure carries ``attempts``."""
    try:
        return build()
    except CallFailed as failed:
        failed.attempts = attempts
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not {what} ({type(exc).__name__}: {exc})",
            attempts=attempts,
        ) from None


TRUNCATED_KIND = "Truncated"
"""Error kind of an answer cut off at ``max_tokens`` (stop reason ``length``/``max_tokens``)."""


def truncated_answer(
    reason: str, request_purpose: str, *, attempts: int, usage: Usage
) -> CallFailed | None:
    """The error of an answer cut at ``max_tokens``; None for helper calls.

    A case's answer that stops mid-sentence is a failed call, not a wrong
    answer: it becomes an error row (counted against the gate's
    ``max_error_share``), never a score. Helper calls (a summarizer, a judge)
    choose their own budget and use what fits, so their cut text is kept.
    """
    if request_purpose != "answer":
        return None
    return CallFailed(
        TRUNCATED_KIND,
        f"the answer was cut off at the max_tokens limit ({reason}, "
        f"{usage.output_tokens} output tokens); raise max_tokens in the suite's params",
        attempts=attempts,
        usage=usage,
    )


def clean_text(text: str) -> str:
    """``text`` fit to store: half a surrogate pair (JSON can escape one, ``"\\ud800"``)
    becomes U+FFFD, as a UTF-8 decoder would make of it.

    Such a string cannot be written as UTF-8: left in, it would fail the goldens
    file, the journal and DuckDB long after the call succeeded.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def token_count(value: object, field: str) -> int:
    """A token count of a response's usage: a whole number >= 0 (missing: 0).

    Raises:
        CallFailed: anything else (``InvalidResponse``): a count the harness would
            price wrongly, or crash on, must not pass as a good answer.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CallFailed(
            "InvalidResponse",
            f"the provider's usage is malformed: {field} = {value!r} is not a whole number >= 0",
        )
    return value


def json_body(response: Any, *, what: str, attempts: int) -> Mapping[str, Any]:
    """The JSON object of a successful HTTP ``response`` (one call's body).

    Raises:
        CallFailed: not JSON, or JSON that is not an object (``InvalidResponse``).
    """
    try:
        data = response.json()
    except ValueError as exc:
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not JSON ({type(exc).__name__}: {exc})",
            attempts=attempts,
        ) from None
    if not isinstance(data, Mapping):
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not {what} (got JSON {type(data).__name__})",
            attempts=attempts,
        )
    return data


def json_field(obj: Any, name: str) -> Any:
    """A field of an SDK object or of its JSON form (None when absent)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a provider's ``_call`` returns: the text and the usage it reported."""

    text: str
    usage: Usage


class LoopBound(Generic[ClientT]):
    """One resource (an SDK client) per event loop, closed when that loop shuts down.

    An HTTP connection pool cannot outlive the loop it was opened on, so a new
    loop gets a new resource. Closing is explicit (:meth:`aclose`) and also
    automatic: the resource is tied to a suspended async generator, which
    ``asyncio.run`` (through ``loop.shutdown_asyncgens()``) finalizes before the
    loop closes, so a caller that forgets :meth:`aclose` leaks no sockets.
    """

    def __init__(
        self, make: Callable[[], ClientT], close: Callable[[ClientT], Awaitable[None]]
    ) -> None:
        self._make = make
        self._close = close
        self._loop: asyncio.AbstractEventLoop | None = None
        self._value: ClientT | None = None
        self._keeper: AsyncGenerator[None, None] | None = None

    async def get(self) -> ClientT:
        """The resource of the running loop, created on first use."""
        loop = asyncio.get_running_loop()
        if self._value is None or self._loop is not loop:
            value = self._make()
            keeper = self._keep(value)
            self._loop, self._value, self._keeper = loop, value, keeper
            await keeper.__anext__()
            return value
        return self._value

    async def _keep(self, value: ClientT) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self._close(value)

    async def aclose(self) -> None:
        """Close the resource now (when it belongs to the running loop)."""
        keeper, loop = self._keeper, self._loop
        self._keeper = self._value = self._loop = None
        if keeper is not None and loop is asyncio.get_running_loop():
            await keeper.aclose()


def resolve_api_key(
    owner: str, *, api_key: str | None, api_key_env: str | None, env_key: str
) -> str | None:
    """The API key: from the variable ``api_key_env`` names, else ``api_key``, else ``env_key``.

    None when none is set (a local server needs no key).

    Raises:
        ProviderError: both given; ``api_key_env`` is not a variable name (a key
            pasted there is never echoed); or the variable it names is not set.
    """
    if api_key_env is None:
        return api_key or os.environ.get(env_key) or None
    if api_key is not None:
        raise ProviderError(
            f"{owner}: give api_key_env (the name of the variable holding the key) or "
            "api_key, not both."
        )
    if not isinstance(api_key_env, str) or not ENV_NAME.fullmatch(api_key_env):
        # Not echoed: a key pasted here by mistake must not reach a log.
        raise ProviderError(
            f"{owner}: api_key_env must be the name of an environment variable (letters, "
            "digits and '_', like MY_OPENAI_KEY), not the key itself."
        )
    key = os.environ.get(api_key_env) or None
    if key is None:
        raise ProviderError(
            f"{owner}: api_key_env names the environment variable {api_key_env!r}, which is "
            f"not set. Set it to the API key (or remove api_key_env to use {env_key})."
        )
    return key


class RemoteProvider(Generic[ClientT]):
    """Base of the SDK-backed providers; see the module documentation.

    Args:
        base_url: API endpoint; default the SDK's (or the ``*_BASE_URL`` variable).
        api_key: Default the ``*_API_KEY`` environment variable. Never write a key
            in ``pyproject.toml``: name its variable with ``api_key_env``.
        api_key_env: Name of the environment variable holding the key (for a
            second account or a proxy's key); it must be set.
        timeout: Seconds per HTTP attempt, in all: a deadline from connecting to the
            last byte of the answer (:func:`deadline_http_client`); an attempt past it
            is a timeout, retried by the SDK, then an error row saying so.
        max_retries: Retries the SDK makes on 408/409/429/5xx and connection errors.
        max_concurrency: Most calls in flight at once through this provider.
        requests_per_minute: Client-side request rate limit (off when None).
        tokens_per_minute: Client-side token rate limit (off when None).

    Raises:
        ProviderError: no API key and no custom base URL.
        MissingDependency: the SDK is not installed.
    """

    name: str
    remote: ClassVar[bool] = True
    """Calls a paid API: the harness answers from records when it can."""
    env_key: ClassVar[str]
    env_base_url: ClassVar[str]
    default_max_tokens: ClassVar[int] = 0
    """Output allowance assumed for the token limit when the request sets no ``max_tokens``."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        max_concurrency: int = 16,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        self._check_sdk()
        self.base_url = base_url or os.environ.get(self.env_base_url) or None
        key = resolve_api_key(
            self.name, api_key=api_key, api_key_env=api_key_env, env_key=self.env_key
        )
        if key is None:
            if self.base_url is None:
                raise ProviderError(
                    f"The {self.name}: provider needs an API key: set the {self.env_key} "
                    f"environment variable (or a base_url for a local server). To run "
                    f"offline with no key, use the simulated models (sim:frontier, sim:small)."
                )
            key = PLACEHOLDER_KEY
        self._api_key = key
        if timeout <= 0:
            raise ProviderError(f"{self.name}: timeout must be positive, got {timeout!r}")
        if max_retries < 0:
            raise ProviderError(f"{self.name}: max_retries must be >= 0, got {max_retries!r}")
        if max_concurrency < 1:
            raise ProviderError(
                f"{self.name}: max_concurrency must be >= 1, got {max_concurrency!r}"
            )
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.max_concurrency = int(max_concurrency)
        try:
            self.limiter = RateLimiter(
                requests_per_minute=requests_per_minute, tokens_per_minute=tokens_per_minute
            )
        except ValueError as exc:
            raise ProviderError(f"{self.name}: {exc}") from None
        self._clients: LoopBound[ClientT] = LoopBound(self._make_client, self._close_client)
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # ------------------------------------------------------------------ subclass API

    def _check_sdk(self) -> None:
        """Raise MissingDependency when the SDK cannot be imported."""
        raise NotImplementedError

    def _make_client(self) -> ClientT:
        """A new async SDK client built from the options."""
        raise NotImplementedError

    async def _call(self, client: ClientT, request: Request) -> Answer:
        """Send ``request``; raise the SDK's errors or :class:`CallFailed`."""
        raise NotImplementedError

    async def _close_client(self, client: ClientT) -> None:
        close = getattr(client, "close", None)
        if close is not None:
            await close()

    # ------------------------------------------------------------------ public

    async def get_client(self) -> ClientT:
        """The SDK client of the running event loop, created on first use."""
        return await self._clients.get()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            # One per loop: a semaphore is bound to the loop it first waits on.
            self._semaphores = {loop: asyncio.Semaphore(self.max_concurrency)}
            semaphore = self._semaphores[loop]
        return semaphore

    async def aclose(self) -> None:
        """Close the HTTP client now (it is also closed when its event loop shuts down)."""
        await self._clients.aclose()

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in stored text."""
        return (self._api_key,)

    async def complete(self, request: Request) -> Response:
        """Answer ``request``; a failed call is an error Response, never an exception."""
        client = await self.get_client()
        async with self._semaphore():
            estimated = 0
            if self.limiter.enabled:
                max_tokens = dict(request.params).get("max_tokens")
                allowance = max_tokens if isinstance(max_tokens, int) else self.default_max_tokens
                estimated = estimate_request_tokens(request.messages, allowance)
                await self.limiter.acquire(estimated)
            started = time.perf_counter()
            try:
                result = await self._call(client, request)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                latency = (time.perf_counter() - started) * 1000
                paid = exc.usage if isinstance(exc, CallFailed) else Usage()
                if self.limiter.enabled:
                    self.limiter.settle(estimated, paid.total_input_tokens + paid.output_tokens)
                error = self.describe(exc)
                log.debug("%s call for case %r failed: %s", self.name, request.case_id, error)
                return Response(
                    text="",
                    model=request.model,
                    usage=paid,
                    latency_ms=latency,
                    error=error,
                    batch=request.batch,
                )
            latency = (time.perf_counter() - started) * 1000
            if self.limiter.enabled:
                usage = result.usage
                self.limiter.settle(estimated, usage.total_input_tokens + usage.output_tokens)
        return Response(
            text=result.text,
            model=request.model,
            usage=result.usage,
            latency_ms=latency,
            batch=request.batch,
        )

    def describe(self, exc: BaseException) -> str:
        """``"<kind>: <message> (after N attempts)"`` for a failed call, key redacted."""
        return describe_error(exc, self.secrets())


def model_name(spec: str) -> str:
    """``"openai:gpt-4o"`` -> ``"gpt-4o"`` (the name the API knows)."""
    return spec.partition(":")[2]


def attempts_of(exc: BaseException) -> int:
    """HTTP attempts the SDK made before raising ``exc`` (from its retry-count header)."""
    if isinstance(exc, CallFailed):
        return exc.attempts
    try:
        request = getattr(exc, "request", None)
    except RuntimeError:  # an httpx response built without a request
        request = None
    return _attempts(getattr(request, "headers", None))


def attempts_of_response(response: object) -> int:
    """HTTP attempts behind a successful SDK response (from its request's retry-count header)."""
    try:
        headers = getattr(getattr(response, "request", None), "headers", None)
    except RuntimeError:  # an httpx response built without a request
        headers = None
    return _attempts(headers)


def _attempts(headers: object) -> int:
    get = getattr(headers, "get", None)
    if get is None:
        return 1
    try:
        return int(get("x-stainless-retry-count", "0")) + 1
    except (TypeError, ValueError):
        return 1


def _body_message(body: object) -> str | None:
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        inner = body.get("error")
        if isinstance(inner, Mapping):
            return _body_message(inner)
    return None


def describe_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The error text of a failed call: kind, message, attempts; secrets redacted."""
    attempts = attempts_of(exc)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, CallFailed):
        kind, message = exc.kind, exc.message
    elif isinstance(status, int):
        kind = f"{type(exc).__name__} (HTTP {status})"
        message = _body_message(getattr(exc, "body", None)) or str(exc)
    elif isinstance(exc, ValueError):  # json.JSONDecodeError and validation errors
        kind = "InvalidResponse"
        message = f"the provider's response could not be read ({type(exc).__name__}: {exc})"
    else:
        kind = type(exc).__name__
        message = str(exc) or repr(exc)
        cause = exc.__cause__
        if cause is not None and str(cause).startswith(DEADLINE_NOTE):
            message += f" ({cause})"
        elif cause is not None and "Timeout" not in kind:
            # The SDKs say only "Connection error."; the cause tells a reset
            # (ReadError) from a refused connection (ConnectError).
            detail = str(cause)
            message += f" ({type(cause).__name__}{': ' + detail if detail else ''})"
    plural = "attempt" if attempts == 1 else "attempts"
    return safe_error(f"{kind}: {message} (after {attempts} {plural})", secrets)


__all__ = [
    "PLACEHOLDER_KEY",
    "TRUNCATED_KIND",
    "Answer",
    "CallFailed",
    "LoopBound",
    "RemoteProvider",
    "attempts_of",
    "attempts_of_response",
    "clean_text",
    "describe_error",
    "json_body",
    "json_field",
    "model_name",
    "token_count",
    "truncated_answer",
]
