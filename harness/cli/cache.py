"""``harness cache``: sweep a semantic cache's threshold offline and recommend one.

::

    harness cache --suite NAME [--traffic FILE] [--embedder SPEC] [--ttl 7d]
                  [--stale-after 30d] [--target 0.01] [--pass-score 0.9] [--json]
    harness cache --pairs FILE [--isolated] [--seed N] [--embedder SPEC] [--target 0.01] [--json]

With ``--suite``, the project's suite is replayed as traffic through a
semantic cache (in suite order, or as ``--traffic`` replays it: repeats,
timestamps, knowledge changes). Each query's correct answer is the baseline's
golden; a hit is correct when the cached answer scores at least
``--pass-score`` against it with the suite's scorer. No model is called (the
goldens must be recorded); the embedder is called once per distinct question,
and a paid embedder's vectors are kept in the project's response store and
replayed next time (``--record-mode``, as for ``pytest --cost-eval``).

With ``--pairs`` (GPTCache's ``[{"origin", "similar"}, ...]``), a labelled
suite is built from the pairs plus generated hard negatives
(:mod:`harness.importers.paraphrase_pairs`) and hits are judged by the labels.

Either way every threshold from 0.30 to 0.99 is judged from one embedding per
question, and the recommended threshold is the one with the most correct hits
whose wrong-hit rate (false + stale) has an upper 95 % bound at most
``--target``. ``--json`` prints one object with every point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.analysis.cache_replay import scorer_check
from harness.analysis.cache_sweep import Sweep, sweep_cache_thresholds
from harness.analysis.cache_traffic import Stream, load_traffic, stream_from_cases
from harness.cli.command import Command
from harness.config.record_mode import default_record_mode
from harness.config.settings import load_settings
from harness.config.suites import now_iso
from harness.embedders import SharedEmbeddings, build_embedder
from harness.engine.executor import Executor
from harness.engine.goldens import checked_goldens
from harness.engine.prepare import find_suite, prepare
from harness.errors import ConfigError
from harness.formatting import money
from harness.importers.paraphrase_pairs import build_cache_suite, load_pairs
from harness.store.responses import load_responses, store_responses
from harness.strategies.semantic_cache import parse_duration


class CacheCommand(Command):
    """``harness cache``: a semantic cache's threshold swept on a suite or paraphrase pairs."""

    name = "cache"
    help = "Sweep a semantic cache's threshold on a suite (or paraphrase pairs) and recommend one."
    description = (
        "Replay a suite (or paraphrase pairs with generated hard negatives) "
        "through a semantic cache at every threshold from one embedding per question: hit "
        "rate, correct, false and stale hits with exact intervals, and the threshold with "
        "the most correct hits whose wrong-hit rate stays under the target."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--suite", default=None, help="Name of a suite of the project.")
        source.add_argument(
            "--pairs",
            default=None,
            metavar="FILE",
            help='JSON list of {"origin", "similar"} paraphrase pairs '
            "(GPTCache's mock_data.json).",
        )
        parser.add_argument(
            "--traffic",
            default=None,
            metavar="FILE",
            help="JSON Lines of {case_id, timestamp, knowledge_version, answer}: replay the suite "
            "as this traffic (repeats allowed). Default: each case once, in suite order.",
        )
        parser.add_argument(
            "--embedder",
            default="static",
            metavar="SPEC",
            help="static, openai, minilm, package.module:factory, or a JSON table "
            '(\'{"name": "openai", "model": "text-embedding-3-large"}\'). Default: %(default)s',
        )
        parser.add_argument(
            "--target",
            type=float,
            default=0.01,
            help="Largest acceptable upper 95%% bound of the wrong-hit rate. Default: %(default)s",
        )
        parser.add_argument(
            "--ttl", default=None, help="Entries older than this are never served ('7d', '12h')."
        )
        parser.add_argument(
            "--stale-after",
            default=None,
            metavar="DURATION",
            help="A hit on an entry older than this counts as stale ('30d').",
        )
        parser.add_argument(
            "--across-versions",
            action="store_true",
            help="Serve answers across knowledge versions (and count those hits as stale), as a "
            "cache with by_version = false does. Default: never serve across a version change",
        )
        parser.add_argument(
            "--pass-score",
            type=float,
            default=0.9,
            help="--suite: a cached answer is correct when the suite's scorer gives it at least "
            "this against the golden. Default: %(default)s",
        )
        parser.add_argument(
            "--isolated",
            action="store_true",
            help="--pairs: one namespace per paraphrase family (separation from its own hard "
            "negatives only).",
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="--pairs: seed of the negatives and the order."
        )
        parser.add_argument(
            "--record-mode",
            choices=("none", "new", "all"),
            default=None,
            help="--suite: when a paid embedder may be called; its vectors are kept in the "
            "results database and replayed. Default: 'none' when $CI is set, else 'new'",
        )
        parser.add_argument(
            "--settings",
            default=None,
            metavar="PATH",
            help="TOML file with [tool.cost-eval]. Default: pyproject.toml",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def run(self, args: argparse.Namespace) -> int:
        return run_cache_command(args)


def embedder_spec(text: str) -> str | dict[str, Any]:
    """``--embedder``: a name or import path, or a JSON table with a ``name``.

    Raises:
        ConfigError: the JSON is invalid or not a table.
    """
    if not text.lstrip().startswith("{"):
        return text
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"harness cache: --embedder is not valid JSON ({exc.msg} at column {exc.colno}); "
            'write it as \'{"name": "openai", "model": "text-embedding-3-small"}\'.'
        ) from None
    if not isinstance(table, dict):
        raise ConfigError("harness cache: --embedder must be a name or a JSON table.")
    return table


def run_cache_command(args: argparse.Namespace) -> int:
    """Carry out ``harness cache``: print the sweep (or its JSON) and the recommendation."""

    if not 0.0 <= args.target <= 1.0:
        raise ConfigError(f"harness cache: --target must be a rate in [0, 1], got {args.target}.")
    if args.pairs is not None and args.traffic is not None:
        raise ConfigError("harness cache: --traffic replays a --suite; pairs make their own order.")
    ttl = parse_duration(args.ttl, key="--ttl", where="harness cache") if args.ttl else None
    stale_after = (
        parse_duration(args.stale_after, key="--stale-after", where="harness cache")
        if args.stale_after
        else None
    )
    embedder = build_embedder(embedder_spec(args.embedder), where="harness cache: --embedder")
    if args.pairs is not None:
        result, stream, header = _pairs_sweep(args, embedder, ttl=ttl, stale_after=stale_after)
    else:
        traffic = load_traffic(args.traffic) if args.traffic else None
        result, stream, header = _suite_sweep(
            args, embedder, traffic=traffic, ttl=ttl, stale_after=stale_after
        )
    tokens = int(getattr(embedder, "usage_tokens", 0) or 0)
    if args.json:
        print(json.dumps(sweep_json(result, stream, embedder_name(embedder), tokens)))
        return 0
    for line in [header, *describe_cache_sweep(result, tokens=tokens)]:
        print(line)
    return 0


async def _embed(stream: Stream, embedder: Any, recorder: Any = None) -> Any:
    """One checked embedding per question; the embedder's client closed afterwards.

    With ``recorder`` (an :class:`~harness.engine.executor.Executor` over the project's
    response store), a paid embedder's stored vectors are replayed and new ones
    recorded in it, as ``pytest --cost-eval`` does.
    """

    shared = SharedEmbeddings(embedder)
    shared.attach(recorder)
    try:
        return await shared.embed(list(stream.texts))
    finally:
        close = getattr(embedder, "aclose", None)
        if close is not None:
            await close()


def embedder_name(embedder: Any) -> str:
    """The name an embedder reports (its class name when it has none)."""
    return str(getattr(embedder, "name", type(embedder).__name__))


def _pairs_sweep(
    args: argparse.Namespace, embedder: Any, *, ttl: float | None, stale_after: float | None
) -> tuple[Sweep, Stream, str]:

    suite = build_cache_suite(load_pairs(args.pairs), seed=args.seed)
    stream = stream_from_cases(suite.cases, namespace=suite.family if args.isolated else None)
    vectors = asyncio.run(_embed(stream, embedder))
    result = sweep_cache_thresholds(
        stream,
        vectors,
        judge=suite.judge,
        target=args.target,
        ttl=ttl,
        stale_after=stale_after,
        by_version=not args.across_versions,
    )
    header = (
        f"{len(stream)} queries: {suite.pairs} pairs, negatives {dict(suite.negatives)}; "
        f"embedder {embedder_name(embedder)}; "
        f"{'isolated families' if args.isolated else 'one stream'}"
    )
    return result, stream, header


def _suite_sweep(
    args: argparse.Namespace,
    embedder: Any,
    *,
    traffic: Any,
    ttl: float | None,
    stale_after: float | None,
) -> tuple[Sweep, Stream, str]:

    settings = load_settings(Path.cwd(), args.settings)
    plan = prepare(replace(settings, configs=()))
    suite = find_suite(settings, args.suite)
    # The project's response store: the goldens are only read (no model is called);
    # a paid embedder replays its stored vectors and records new ones here.
    recorder = Executor(
        load_responses(settings.db),
        record_mode=args.record_mode or default_record_mode(),
        provider_options=settings.providers,
    )
    prepared = asyncio.run(checked_goldens(plan, suite, recorder, run_id="harness-cache"))
    answers = {case_id: golden.text for case_id, golden in prepared.goldens.items()}
    costs = {
        case_id: plan.prices.cost(golden.model, golden.usage)
        for case_id, golden in prepared.goldens.items()
    }
    latencies = {case_id: golden.latency_ms for case_id, golden in prepared.goldens.items()}
    stream = stream_from_cases(
        suite.cases, answers, traffic=traffic, costs=costs, latencies=latencies
    )
    vectors = asyncio.run(_embed(stream, embedder, recorder))
    if recorder.new_responses:
        store_responses(settings.db, recorder.new_responses.values(), now_iso())
    result = sweep_cache_thresholds(
        stream,
        vectors,
        check=scorer_check(prepared.scorer, pass_score=args.pass_score),
        target=args.target,
        ttl=ttl,
        stale_after=stale_after,
        by_version=not args.across_versions,
        confidence=settings.gate.confidence,
    )
    replay = f"traffic {args.traffic}" if traffic is not None else "suite order"
    header = (
        f"suite {suite.name!r}: {len(stream)} queries over {len(stream.case_ids)} cases "
        f"({replay}); answers: {settings.baseline} goldens, correct when the "
        f"{getattr(prepared.scorer, 'name', 'scorer')} score >= {args.pass_score}; "
        f"embedder {embedder_name(embedder)}"
    )
    return result, stream, header


def sweep_json(result: Sweep, stream: Stream, embedder: str, tokens: int) -> dict[str, Any]:
    """The sweep as one JSON-ready object (``harness cache --json``)."""
    return {
        "queries": len(stream),
        "cases": len(stream.case_ids),
        "embedder": embedder,
        "embedding_tokens": tokens,
        "target": result.target,
        "confidence": result.confidence,
        "points": [p.to_json() for p in result.points],
        "recommended": result.recommended.to_json() if result.recommended else None,
    }


def describe_cache_sweep(result: Sweep, *, tokens: int = 0) -> list[str]:
    """The sweep as lines of text: a table of thresholds and the recommendation."""

    lines = result.table().splitlines()
    rec = result.recommended
    lines.append("")
    if rec is None:
        lines.append(
            f"no recommendation: no threshold keeps the wrong-hit rate's upper "
            f"{result.confidence:.0%} bound under {result.target:.1%}; use an embedder that "
            "separates your near-misses better, or a larger suite (a bound needs hits: with no "
            "wrong hit, about 300 hits bring it under 1 %)."
        )
    else:
        cost = rec.gross_saved_usd
        saved = f", saves {money(cost)} of model calls" if cost else ""
        lines.append(
            f"recommended threshold {rec.threshold:.2f}: hit rate {rec.hit_rate:.1%}, "
            f"{rec.correct_hits} correct of {rec.answerable} a perfect cache would answer "
            f"({rec.recall:.1%}), {rec.false_hits} false and {rec.stale_hits} stale"
            + (f", {rec.unjudged_hits} unjudged" if rec.unjudged_hits else "")
            + " "
            f"(wrong-hit rate {rec.wrong_hit_rate:.2%}, upper bound {rec.wrong_hit_ci[1]:.2%})"
            f"{saved}"
        )
    if tokens:
        lines.append(f"the embedder billed {tokens:,} tokens (one embedding per question)")
    return lines
