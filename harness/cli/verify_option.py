"""``harness cache --verify SPEC``: every threshold also swept with a verifier stage.

``SPEC`` is what a semantic cache's ``verify`` option holds
(:mod:`harness.strategies.cache_verifier`): an import path
(``myapp.verify:same_question``) or a JSON table
(``'{"kind": "judge", "model": "openai:gpt-4o-mini"}'``). Each (query,
candidate) pair the sweep needs is decided once; a judge's calls go through an
:class:`~harness.engine.executor.Executor` over the project's response store
(provider options, prices and ``--record-mode`` from the project, as for
``pytest --cost-eval``), so a second ``harness cache --verify`` asks nothing.
:func:`sweep_stream` is what every path of ``harness cache`` sweeps with.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from harness.analysis.cache_sweep import Sweep, sweep_cache_thresholds
from harness.analysis.cache_traffic import Stream
from harness.config.prices import PriceTable
from harness.config.record_mode import default_record_mode
from harness.config.settings import load_settings
from harness.config.suites import now_iso
from harness.engine.cache_verify import sweep_with_verifier
from harness.engine.executor import Executor, close_providers
from harness.errors import ConfigError
from harness.store.responses import load_responses, store_responses
from harness.strategies.cache_verifier import build_verifier

__all__ = ["add_verify_argument", "sweep_stream", "verify_spec"]

WHERE = "harness cache: --verify"


def add_verify_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--verify SPEC`` to ``harness cache``."""
    parser.add_argument(
        "--verify",
        default=None,
        metavar="SPEC",
        help="Also sweep with a verifier stage that checks every candidate hit: "
        "package.module:function, or a JSON table such as "
        '\'{"kind": "judge", "model": "openai:gpt-4o-mini"}\'. Shows hits, wrong hits and the '
        "verifier's cost without and with it.",
    )


def verify_spec(text: str) -> str | dict[str, Any]:
    """``--verify``: an import path, or a JSON table with a ``kind``.

    Raises:
        ConfigError: the JSON is invalid or not a table.
    """
    if not text.lstrip().startswith("{"):
        return text.strip()
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{WHERE} is not valid JSON ({exc.msg} at column {exc.colno}); write it as "
            '\'{"kind": "judge", "model": "openai:gpt-4o-mini"}\' or as package.module:function.'
        ) from None
    if not isinstance(table, dict):
        raise ConfigError(f"{WHERE} must be an import path or a JSON table.")
    return table


def sweep_stream(
    args: argparse.Namespace,
    stream: Stream,
    vectors: Any,
    *,
    answers: bool = True,
    **options: Any,
) -> Sweep:
    """The sweep of ``stream``: with ``--verify``, also with the verifier stage.

    Args:
        answers: The stream's answers are texts a verifier may read (False for
            labelled pairs, whose answers are labels).
        options: :func:`~harness.analysis.cache_sweep.sweep_cache_thresholds`'s options.

    Raises:
        ConfigError: a bad ``--verify``; a judge outside a project, or with no price.
    """
    spec = getattr(args, "verify", None)
    if spec is None:
        return sweep_cache_thresholds(stream, vectors, **options)
    verifier = build_verifier(verify_spec(spec), where=WHERE)
    prices = PriceTable({})
    executor = Executor({})
    db: Path | None = None
    if verifier.models:
        try:
            settings = load_settings(Path.cwd(), getattr(args, "settings", None))
        except ConfigError as exc:
            raise ConfigError(
                f"{WHERE}: a judge verifier takes its provider options, prices and response "
                f"store from the project: {exc}"
            ) from None
        prices = PriceTable(settings.prices)
        for model in verifier.models:
            prices.price_of(model)
        db = settings.db
        executor = Executor(
            load_responses(db),
            record_mode=getattr(args, "record_mode", None) or default_record_mode(),
            provider_options=settings.providers,
        )

    async def go() -> Sweep:
        try:
            return await sweep_with_verifier(
                stream, vectors, verifier, executor.send, prices, answers=answers, **options
            )
        finally:
            await close_providers(executor)

    result = asyncio.run(go())
    if db is not None and executor.new_responses:
        store_responses(db, executor.new_responses.values(), now_iso())
    return result
