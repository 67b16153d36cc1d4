"""``harness cache``: sweep a semantic cache's threshold offline and recommend one.

::

    harness cache --suite NAME [--traffic FILE] [--embedder SPEC] [--ttl 7d]
                  [--stale-after 30d] [--target 0.01] [--pass-score 0.9] [--json]
                  [--verify SPEC]
    harness cache --suite NAME --mine-negatives [--neighbours 3] [--write-pairs FILE] [--json]
    harness cache --pairs FILE [--isolated | --one-stream] [--[no-]generate-negatives]
                  [--seed N] [--embedder SPEC] [--target 0.01] [--write-suite FILE] [--json]

With ``--suite``, the project's suite is replayed as traffic through a
semantic cache (in suite order, or as ``--traffic`` replays it: repeats,
timestamps, knowledge changes). Each query's correct answer is the baseline's
golden; a hit is correct when the cached answer scores at least
``--pass-score`` against it with the suite's scorer. No model is called (the
goldens must be recorded); the embedder is called once per distinct question,
and a paid embedder's vectors are kept in the project's response store and
replayed next time (``--record-mode``, as for ``pytest --cost-eval``).

With ``--pairs``, labelled pairs (JSON Lines or CSV of ``{text_a, text_b,
label}``, :mod:`harness.importers.labelled_pairs`) are replayed as a cache
stream and hits are judged by the labels: each pair is its own family
(``text_a`` arrives first, ``text_b`` later; a hit of ``text_b`` on ``text_a``
is correct for label 1, false for label 0) unless ``--one-stream`` puts all
pairs in one cache (a hit across pairs is then unjudged unless duplicate pairs
link the two texts). Label-0 pairs are real negatives, used as they are; none
are generated unless ``--generate-negatives`` asks. GPTCache's
``[{"origin", "similar"}, ...]`` (paraphrases only) keeps its behaviour: one
stream, with generated hard negatives (:mod:`harness.importers.paraphrase_pairs`)
unless ``--no-generate-negatives``. Every output names the kind of negatives.

With ``--suite NAME --mine-negatives``, the suite's own questions give the
pairs: each question and its ``--neighbours`` nearest by the embedder, label 1
when the earlier one's golden passes for the later one, else 0 (a mined
negative); the pairs are swept like labelled ones (``--write-pairs`` keeps them
to review and reuse with ``--pairs``).

With ``--verify SPEC`` (any source), every threshold is also swept with a
verifier stage (:mod:`harness.cli.verify_option`): hits, wrong hits and the
verifier's cost without and with it.

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
from harness.analysis.cache_sweep import Sweep
from harness.analysis.cache_traffic import Stream, load_traffic, stream_from_cases
from harness.cli.cache_pairs import (
    check_pair_options,
    pairs_header,
    pairs_stream,
    sweep_mined_pairs,
    sweep_pairs,
)
from harness.cli.command import Command
from harness.cli.verify_option import add_verify_argument, sweep_stream
from harness.config.record_mode import default_record_mode
from harness.config.settings import load_settings
from harness.config.suites import now_iso
from harness.embedders import DEFAULT_EMBEDDER, SharedEmbeddings, build_embedder
from harness.engine.costs import golden_cost
from harness.engine.executor import Executor
from harness.engine.goldens import checked_goldens
from harness.engine.prepare import find_suite, prepare
from harness.errors import ConfigError
from harness.formatting import money
from harness.store.responses import load_responses, store_responses
from harness.strategies.semantic_cache import parse_duration


class CacheCommand(Command):
    """``harness cache``: a semantic cache's threshold swept on a suite or paraphrase pairs."""

    name = "cache"
    help = "Sweep a semantic cache's threshold on a suite (or labelled pairs) and recommend one."
    description = (
        "Replay a suite (or labelled pairs with their real negatives, or pairs mined from the "
        "suite) through a semantic cache at every threshold from one embedding per question: hit "
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
            help='Labelled pairs: JSON Lines or CSV of {"text_a", "text_b", "label"} (1 = same '
            "question, 0 = different: a real negative), or GPTCache's JSON list of "
            '{"origin", "similar"} paraphrases.',
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
            default=json.dumps(dict(DEFAULT_EMBEDDER)),
            metavar="SPEC",
            help="static (the zero-dependency fallback), minilm_static, openai, minilm, "
            "package.module:factory, or a JSON table "
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
        families = parser.add_mutually_exclusive_group()
        families.add_argument(
            "--isolated",
            action="store_true",
            default=None,
            help="--pairs: one namespace per pair (a hit can only be on its own pair's texts). "
            "Default for labelled pairs.",
        )
        families.add_argument(
            "--one-stream",
            dest="isolated",
            action="store_false",
            default=None,
            help="--pairs: all pairs in one cache; hits across pairs are unjudged. Default for "
            "GPTCache's paraphrases.",
        )
        parser.add_argument(
            "--generate-negatives",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="--pairs: add generated hard negatives (swapped numbers, names, negations) to "
            "the paraphrase pairs. Default: only when the file has no negatives (GPTCache's)",
        )
        parser.add_argument(
            "--mine-negatives",
            action="store_true",
            help="--suite: sweep pairs mined from the suite (each question and its nearest "
            "neighbours, labelled by whether their goldens agree) instead of replaying it.",
        )
        parser.add_argument(
            "--neighbours",
            type=int,
            default=3,
            metavar="N",
            help="--mine-negatives: nearest neighbours per question. Default: %(default)s",
        )
        parser.add_argument(
            "--write-pairs",
            default=None,
            metavar="FILE",
            help="--mine-negatives: also write the mined pairs as JSON Lines {text_a, text_b, "
            "label}, to review, correct and reuse with --pairs.",
        )
        parser.add_argument(
            "--write-suite",
            default=None,
            metavar="FILE",
            help="--pairs: also write the cases swept as a suite file (suites/NAME.yaml: each "
            "case's category says origin, paraphrase or which negative), to run with pytest "
            "--cost-eval; the report then names the suite's negatives.",
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
            help="Settings file (TOML with [tool.cost-eval]). Default: cost-eval.toml, else "
            "pyproject.toml",
        )
        add_verify_argument(parser)
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
    check_pair_options(args)
    ttl = parse_duration(args.ttl, key="--ttl", where="harness cache") if args.ttl else None
    stale_after = (
        parse_duration(args.stale_after, key="--stale-after", where="harness cache")
        if args.stale_after
        else None
    )
    embedder = build_embedder(embedder_spec(args.embedder), where="harness cache: --embedder")
    if args.pairs is not None:
        pairs = pairs_stream(args)
        vectors = asyncio.run(_embed(pairs.stream, embedder))
        result = sweep_pairs(args, pairs, vectors, ttl=ttl, stale_after=stale_after)
        stream, about = pairs.stream, pairs.about
        header = pairs_header(pairs, embedder_name(embedder))
    else:
        traffic = load_traffic(args.traffic) if args.traffic else None
        result, stream, header, about = _suite_sweep(
            args, embedder, traffic=traffic, ttl=ttl, stale_after=stale_after
        )
    tokens = int(getattr(embedder, "usage_tokens", 0) or 0)
    if args.json:
        print(json.dumps({**sweep_json(result, stream, embedder_name(embedder), tokens), **about}))
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


_GOLDEN_NEGATIVES = (
    "negatives: the suite's own questions whose goldens differ (every hit is judged against "
    "the baseline's golden)"
)


def _suite_sweep(
    args: argparse.Namespace,
    embedder: Any,
    *,
    traffic: Any,
    ttl: float | None,
    stale_after: float | None,
) -> tuple[Sweep, Stream, str, dict[str, Any]]:

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
    # As a run costs the baseline: its recorded cost, else priced, else estimated.
    cases = {case.id: case for case in suite.cases}
    costs = {
        case_id: golden_cost(
            plan.prices,
            suite.request(cases[case_id], settings.baseline),
            golden,
            where=f"suite {suite.name!r}: case {case_id!r}",
        )[0]
        for case_id, golden in prepared.goldens.items()
        if case_id in cases
    }
    latencies = {case_id: golden.latency_ms for case_id, golden in prepared.goldens.items()}
    stream = stream_from_cases(
        suite.cases, answers, traffic=traffic, costs=costs, latencies=latencies
    )
    vectors = asyncio.run(_embed(stream, embedder, recorder))
    if recorder.new_responses:
        store_responses(settings.db, recorder.new_responses.values(), now_iso())
    check = scorer_check(prepared.scorer, pass_score=args.pass_score)
    if args.mine_negatives:
        return sweep_mined_pairs(
            args,
            suite.name,
            stream,
            vectors,
            check,
            ttl=ttl,
            stale_after=stale_after,
            confidence=settings.gate.confidence,
        )
    result = sweep_stream(
        args,
        stream,
        vectors,
        check=check,
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
    # Every hit is judged against the goldens: a near-miss is whatever question
    # of the suite has another answer (no negatives are made up).
    about = {"negatives": {"source": "suite goldens", "description": _GOLDEN_NEGATIVES}}
    return result, stream, header, about


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
        **(result.verification_json() if result.verified else {}),
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
    if result.verified:
        lines.extend(["", *describe_verified(result)])
    return lines


def describe_verified(result: Sweep) -> list[str]:
    """The sweep without and with the verifier, side by side, and what it changes."""
    lines = result.verified_table().splitlines()
    checked = result.verified_recommended
    lines.append("")
    lines.append(
        f"the verifier decided {result.verified_pairs:,} distinct (query, candidate) pairs, each "
        "once; caught = wrong hits it turned away, lost = correct hits it turned away"
    )
    if checked is None:
        lines.append("no recommendation with the verifier either")
    else:
        counts = checked.verifier
        cost = f", verifier cost {money(counts.cost_usd)}" if counts and counts.cost_usd else ""
        lines.append(
            f"recommended threshold with the verifier {checked.threshold:.2f}: hit rate "
            f"{checked.hit_rate:.1%}, {checked.correct_hits} correct ({checked.recall:.1%} "
            f"recall), {checked.false_hits + checked.stale_hits} wrong (wrong-hit rate "
            f"{checked.wrong_hit_rate:.2%}, upper bound {checked.wrong_hit_ci[1]:.2%}){cost}"
        )
    if result.verifier_error:
        lines.append(f"failed checks: {result.verifier_error}")
    return lines
