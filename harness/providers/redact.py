"""Keep API keys out of error messages, logs and reports.

The SDKs' exception messages do not contain the key, but a provider's error
body, a proxy's HTML error page or an exception chained from the HTTP layer
might echo it. Every text a real provider stores passes through :func:`redact`.

Answers too: a provider or proxy can echo the key inside a normal 200. The
engine's executor passes every answer through :class:`AnswerRedactor` (the
configured keys' values and well-known key shapes) before it is journaled,
stored, rendered or printed, and counts what it replaced.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from harness.types import Response

REDACTED = "[REDACTED]"

_PATTERNS = (
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-...) and Anthropic (sk-ant-...) keys.
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    # Authorization headers and bearer tokens, whatever the token looks like.
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(r"(?i)(\"?(?:authorization|x-api-key|api[_-]?key)\"?\s*[:=]\s*)(\"?)[^\s\",}']{6,}"),
)

_CUT = " ... [truncated]"

MAX_ERROR_CHARS = 1000
"""Longest error text kept (a proxy's HTML error page is not worth storing whole)."""


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret and anything shaped like an API key replaced.

    Args:
        secrets: Exact strings to remove (the provider's own key); ``None`` and
            strings shorter than 6 characters are ignored.
    """
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _PATTERNS[0].sub(REDACTED, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


def clip(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(_CUT))] + _CUT


def safe_error(text: str, secrets: Iterable[str | None] = ()) -> str:
    """An error text fit to store: redacted, then clipped."""
    return clip(redact(text, secrets))


KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
"""The variables the SDK-backed providers read their key from when none is configured."""

_ANSWER_SHAPES = re.compile(
    "|".join(
        (
            # OpenAI and Anthropic keys: stricter than for errors (an answer may
            # say "sk-learn-compatible"): 16+ characters, at least one digit.
            r"\bsk-(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{16,}",
            r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key ids
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
            r"\bgithub_pat_[A-Za-z0-9_]{30,}",
            r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
            r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack tokens
        )
    )
)


def configured_keys(
    provider_options: Mapping[str, Mapping[str, object]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """The values of every configured key: each provider's ``api_key`` and the
    variable its ``api_key_env`` names, and :data:`KEY_VARIABLES`."""
    env = os.environ if environ is None else environ
    names = list(KEY_VARIABLES)
    keys: list[str] = []
    for options in (provider_options or {}).values():
        if not isinstance(options, Mapping):
            continue
        if isinstance(options.get("api_key_env"), str):
            names.append(str(options["api_key_env"]))
        if isinstance(options.get("api_key"), str):
            keys.append(str(options["api_key"]))
    keys.extend(env.get(name, "") for name in names)
    # Longest first: a key that contains another is replaced whole.
    return tuple(sorted({k for k in keys if len(k) >= 6}, key=len, reverse=True))


def redact_answer(text: str, secrets: Iterable[str] = ()) -> tuple[str, int]:
    """``text`` with every given secret and every well-known key shape replaced by
    :data:`REDACTED`, and how many were replaced.

    Unlike :func:`redact` (for errors), ``Bearer`` and ``api_key=`` phrases are
    left alone: an answer explaining how to send a key is not a key.
    """
    count = 0
    for secret in secrets:
        if secret and len(secret) >= 6 and secret in text:
            count += text.count(secret)
            text = text.replace(secret, REDACTED)
    text, shaped = _ANSWER_SHAPES.subn(REDACTED, text)
    return text, count + shaped


class AnswerRedactor:
    """Redacts keys from answers before they are stored, journaled or shown, counting them.

    Args:
        secrets: Exact strings to remove (see :func:`configured_keys`).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(secrets)
        self.count = 0
        """Keys replaced so far."""

    def response(self, response: Response) -> Response:
        """``response`` with its text and error free of keys (the same object when clean)."""
        text, found = redact_answer(response.text, self.secrets)
        error = response.error
        if error is not None:
            error = redact(error, self.secrets)
        if not found and error == response.error:
            return response
        self.count += found
        return replace(response, text=text, error=error)


__all__ = [
    "KEY_VARIABLES",
    "REDACTED",
    "AnswerRedactor",
    "clip",
    "configured_keys",
    "redact",
    "redact_answer",
    "safe_error",
]
