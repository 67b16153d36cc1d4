"""Keep API keys out of error messages, logs and reports.

The SDKs' exception messages do not contain the key, but a provider's error
body, a proxy's HTML error page or an exception chained from the HTTP layer
might echo it. Every text a real provider stores passes through :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


__all__ = ["REDACTED", "clip", "redact", "safe_error"]
