"""``harness cache --pairs`` and ``--mine-negatives``: labelled pairs as a cache stream.

How labelled pairs become a stream (see docs/caching.md): each pair's
``text_a`` arrives first and its ``text_b`` at a random later time (seeded).
By default each pair is its own family (a namespace of its own), so the only
hit possible is ``text_b`` on ``text_a``: correct for label 1, false for label
0. That is the question a threshold answers on such data: of the hits it gives
on pairs like these, how many serve the wrong answer. ``--one-stream`` puts
every pair in one cache; a hit across pairs is then unjudged (the labels say
nothing about two pairs) unless duplicate pairs link the two texts.

The command module (:mod:`harness.cli.cache`) embeds the questions; this module
builds the stream, sweeps it and says which negatives it holds.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.analysis.cache_replay import AnswerCheck
from harness.analysis.cache_sweep import Sweep
from harness.analysis.cache_traffic import Stream, stream_from_cases
from harness.cli.verify_option import sweep_stream
from harness.errors import ConfigError
from harness.files import AtomicFile
from harness.importers.labelled_pairs import (
    load_labelled_pairs,
    mine_pairs,
    write_labelled_pairs,
)
from harness.importers.paraphrase_pairs import (
    MINED,
    NEGATIVE_KINDS,
    CacheSuite,
    build_cache_suite,
    negative_sources,
)

__all__ = [
    "PairsStream",
    "check_pair_options",
    "pairs_header",
    "pairs_stream",
    "sweep_mined_pairs",
    "sweep_pairs",
    "write_cache_suite",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PairsStream:
    """Labelled pairs as a cache stream, and what the output says about them."""

    suite: CacheSuite
    stream: Stream
    isolated: bool
    """Each pair its own family (else one stream)."""
    summary: str
    """The header's words about the pairs and their negatives."""
    about: dict[str, Any]
    """What ``--json`` says about them, beside the points."""


def check_pair_options(args: argparse.Namespace) -> None:
    """Options of one source used with the other are errors, not silently ignored.

    Raises:
        ConfigError: naming the option and the source it belongs to.
    """
    if args.pairs is None:
        for given, flag in (
            (args.isolated is not None, "--isolated/--one-stream"),
            (args.generate_negatives is not None, "--[no-]generate-negatives"),
            (args.write_suite is not None, "--write-suite"),
        ):
            if given:
                raise ConfigError(f"harness cache: {flag} applies to --pairs only.")
    if not args.mine_negatives:
        if args.write_pairs is not None:
            raise ConfigError(
                "harness cache: --write-pairs writes the pairs --mine-negatives mines."
            )
        return
    if args.pairs is not None:
        raise ConfigError(
            "harness cache: --mine-negatives mines pairs from a --suite; --pairs has its own."
        )
    if args.traffic is not None:
        raise ConfigError(
            "harness cache: --mine-negatives pairs the suite's questions; --traffic has no role."
        )
    if args.neighbours < 1:
        raise ConfigError(f"harness cache: --neighbours must be 1 or more, got {args.neighbours}.")


def _about(suite: CacheSuite, *, positives: int, negatives: int, isolated: bool) -> dict[str, Any]:
    return {
        "pairs": {"pairs": suite.pairs, "same": positives, "different": negatives},
        "negatives": {
            "source": suite.negative_source,
            "by_source": negative_sources(suite.negatives),
            "by_kind": dict(suite.negatives),
            "description": suite.describe_negatives(),
        },
        "families": "isolated" if isolated else "one stream",
    }


def _families(isolated: bool) -> str:
    return (
        "each pair its own family"
        if isolated
        else "one stream (hits across pairs are unjudged unless duplicate pairs link them)"
    )


def write_cache_suite(path: str | Path, suite: CacheSuite) -> None:
    """Write ``suite`` as a suite file named after the file (``suites/qqp.yaml``: ``qqp``)."""
    path = Path(path)
    text = yaml.safe_dump(suite.to_suite(path.stem), sort_keys=False, allow_unicode=True)
    with AtomicFile(path) as out:
        out.write(text)


def pairs_stream(args: argparse.Namespace) -> PairsStream:
    """``--pairs FILE``: the pairs read, negatives generated only when due, and the stream.

    Real negatives (label 0) are used as they are. Negatives are generated when
    ``--generate-negatives`` asks, or when the file has none at all (GPTCache's
    paraphrases, on which a cache answering everything would look perfect);
    ``--no-generate-negatives`` forbids it. Labelled files default to one family
    per pair, GPTCache's lists to one stream (as before). ``--write-suite FILE``
    also writes the cases as a suite file.
    """
    loaded = load_labelled_pairs(args.pairs)
    generate = (
        args.generate_negatives if args.generate_negatives is not None else not loaded.negatives
    )
    isolated = args.isolated if args.isolated is not None else loaded.labelled
    suite = build_cache_suite(
        loaded.pairs,
        labels=loaded.labels if loaded.labelled else None,
        negatives=NEGATIVE_KINDS if generate else (),
        seed=args.seed,
    )
    if args.write_suite:
        write_cache_suite(args.write_suite, suite)
    kinds = (
        f"{loaded.positives:,} same question, {loaded.negatives:,} different"
        if loaded.labelled
        else "all paraphrases"
    )
    return PairsStream(
        suite=suite,
        stream=stream_from_cases(suite.cases, namespace=suite.family if isolated else None),
        isolated=isolated,
        summary=f"{suite.pairs:,} pairs ({kinds}); {suite.describe_negatives()}",
        about=_about(
            suite, positives=loaded.positives, negatives=loaded.negatives, isolated=isolated
        ),
    )


def sweep_pairs(
    args: argparse.Namespace,
    pairs: PairsStream,
    vectors: Any,
    *,
    ttl: float | None,
    stale_after: float | None,
    confidence: float = 0.95,
) -> Sweep:
    """Every threshold over the pairs' stream, hits judged by the labels (and ``--verify``)."""
    return sweep_stream(
        args,
        pairs.stream,
        vectors,
        answers=False,
        judge=pairs.suite.judge,
        target=args.target,
        ttl=ttl,
        stale_after=stale_after,
        by_version=not args.across_versions,
        confidence=confidence,
    )


def sweep_mined_pairs(
    args: argparse.Namespace,
    name: str,
    stream: Stream,
    vectors: Any,
    check: AnswerCheck,
    *,
    ttl: float | None,
    stale_after: float | None,
    confidence: float,
) -> tuple[Sweep, Stream, str, dict[str, Any]]:
    """``--suite NAME --mine-negatives``: the suite's questions paired with their neighbours.

    Each question and its ``--neighbours`` nearest by ``vectors`` (the suite's
    embeddings, one row per case of ``stream``), label 1 when ``check`` passes
    the earlier question's golden for the later one, else 0 (a mined
    negative), swept with one family per pair. Returns the sweep, the pairs'
    stream, the header and the JSON about the pairs.
    """
    answers = {q.case_id: q.answer for q in stream.queries}
    ids: Sequence[str] = stream.case_ids
    mined = mine_pairs(
        stream.texts,
        vectors,
        lambda i, j: check(answers[ids[i]], answers[ids[j]]),
        neighbours=args.neighbours,
    )
    if args.write_pairs:
        write_labelled_pairs(args.write_pairs, mined)
    suite = build_cache_suite(
        mined.pairs, labels=mined.labels, negatives=(), labelled_as=MINED, name=name
    )
    pairs = PairsStream(
        suite=suite,
        stream=stream_from_cases(suite.cases, namespace=suite.family),
        isolated=True,
        summary="",
        about=_about(suite, positives=mined.positives, negatives=mined.negatives, isolated=True),
    )
    row_of = {text: row for row, text in enumerate(stream.texts)}
    rows = [row_of[text] for text in pairs.stream.texts]
    result = sweep_pairs(
        args, pairs, vectors[rows], ttl=ttl, stale_after=stale_after, confidence=confidence
    )
    header = (
        f"suite {name!r}: {len(mined):,} pairs mined from {len(ids):,} questions (each with its "
        f"{args.neighbours} nearest by the embedder): {mined.positives:,} whose goldens agree; "
        f"{suite.describe_negatives()}; {_families(True)}"
        + (f"; pairs written to {args.write_pairs}" if args.write_pairs else "")
    )
    return result, pairs.stream, header, pairs.about


def pairs_header(pairs: PairsStream, embedder: str) -> str:
    """The first line ``harness cache --pairs`` prints: queries, pairs, negatives, families."""
    return (
        f"{len(pairs.stream):,} queries: {pairs.summary}; embedder {embedder}; "
        f"{_families(pairs.isolated)}"
    )
