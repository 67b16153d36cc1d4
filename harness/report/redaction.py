"""Redaction of case texts: what a report shows instead of prompts, outputs and errors.

With ``[tool.cost-eval] redact = true`` no case text reaches the report or the
test failure messages: each is replaced by :func:`placeholder` (its length and
a hash, so equal texts still show as equal).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from harness.types import CaseResult

__all__ = [
    "REDACTED_PREFIX",
    "placeholder",
    "redact_case",
    "redact_error",
    "redact_requested",
    "stored_case_limit",
    "text_hash",
]

REDACTED_PREFIX = "[redacted"
"""How every placeholder starts."""
_ERROR_TAIL = re.compile(r" \(after \d+ attempts?\)$")


def text_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def placeholder(text: str) -> str:
    """What a redacted report shows instead of ``text``: its length and hash.

    Equal texts get equal placeholders, so a reader still sees whether an
    output matched its reference. The hash hides a text only from someone who
    cannot guess it: a one-word answer can be found by hashing candidates.
    """
    return f"[redacted: {len(text)} chars, sha256 {text_hash(text)}]"


def redact_error(error: str) -> str:
    """An error row's text with its message redacted, its kind and attempts kept.

    ``"Refusal: the model refused: <model text> (after 1 attempt)"`` becomes
    ``"Refusal: [redacted: ...] (after 1 attempt)"``: some messages quote the
    model or the prompt. The full text stays in the results database.
    """
    kind, sep, rest = error.partition(": ")
    if not sep:
        return placeholder(error)
    tail = _ERROR_TAIL.search(rest)
    message = rest[: tail.start()] if tail else rest
    return f"{kind}: {placeholder(message)}{tail.group(0) if tail else ''}"


def redact_case(case: CaseResult) -> CaseResult:
    """``case`` with every text that came from the suite or a model replaced."""
    return replace(
        case,
        output=placeholder(case.output),
        reference=placeholder(case.reference),
        expected=placeholder(case.expected) if case.expected is not None else None,
        rationale=placeholder(case.rationale) if case.rationale else "",
        error=redact_error(case.error) if case.error is not None else None,
        prompt=placeholder(case.prompt) if case.prompt else "",
        prompt_context=placeholder(case.prompt_context) if case.prompt_context else "",
    )


def stored_case_limit(run: Mapping[str, Any]) -> int | None:
    """The ``--cost-eval-limit`` a stored run was made with (``settings_json``
    ``case_limit``), or None: every case of each suite was evaluated."""
    raw = run.get("settings_json")
    try:
        settings = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    limit = settings.get("case_limit") if isinstance(settings, Mapping) else None
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def redact_requested(run: Mapping[str, Any]) -> bool:
    """Whether a stored run's settings asked for redaction (``settings_json`` ``redact``)."""
    raw = run.get("settings_json")
    if not raw:
        return False
    try:
        settings = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return False
    return isinstance(settings, Mapping) and settings.get("redact") is True
