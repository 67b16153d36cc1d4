"""``harness sample``: fresh suite cases from imported production traffic.

::

    harness sample --n N --out suites/prod.yaml [--days D] [--seed S] [--topics K] [--force]
                   [--db PATH] [--settings PATH]

Draws a stratified sample of recent queries stored by ``harness import traces``
(:mod:`harness.analysis.sample`: by model tier, prompt length, topic cluster and
novelty against the project's suites; near-duplicates dropped; e-mail addresses, card and phone
numbers redacted) and writes it as a suite whose references are the baseline's
goldens. Record them, then run it as usual::

    pytest --cost-eval --cost-eval-update-goldens
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.analysis.sample import Candidate, draw_sample, suite_document
from harness.cli.command import Command, add_settings_argument
from harness.config.settings import Settings, load_settings
from harness.config.suites import display_path, load_project_suite, suite_files
from harness.errors import ConfigError, CostEvalError
from harness.files import AtomicFile
from harness.store.traffic import recent_queries

__all__ = ["SampleCommand"]


class SampleCommand(Command):
    """``harness sample`` (module docs)."""

    name = "sample"
    help = "Write a suite of recent production queries (stratified, deduplicated, redacted)."
    description = (
        "Draw a stratified sample of the queries stored by `harness import traces` into a "
        "new suite file for review; its references are the baseline's goldens."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--n", type=int, required=True, help="Cases to draw.")
        parser.add_argument(
            "--out", type=Path, required=True, help="Suite file to write (suites/prod.yaml)."
        )
        parser.add_argument(
            "--days", type=float, default=None, help="Only queries of the last D days."
        )
        parser.add_argument("--seed", type=int, default=0, help="Sampling seed (default 0).")
        parser.add_argument(
            "--topics",
            type=int,
            default=8,
            metavar="K",
            help="Topic clusters to stratify by (k-means over offline embeddings; 0: none). "
            "Default: %(default)s",
        )
        parser.add_argument("--force", action="store_true", help="Overwrite --out.")
        parser.add_argument(
            "--db", default=None, help="Results database. Default: the 'db' setting."
        )
        add_settings_argument(parser)

    def run(self, args: argparse.Namespace) -> int:
        return run_sample(args)


def _settings(path: str | None) -> Settings | None:
    try:
        return load_settings(Path.cwd(), path)
    except CostEvalError:
        if path:
            raise
        return None


def _existing_prompts(settings: Settings | None, out: Path) -> list[str]:
    """Prompts of the project's suites (the one being replaced left out)."""
    if settings is None:
        return []
    prompts: list[str] = []
    for path in suite_files(settings.suites_dir):
        if path.resolve() == out.resolve():
            continue
        prompts.extend(case.prompt for case in load_project_suite(path, settings).cases)
    return prompts


def run_sample(args: argparse.Namespace) -> int:
    """Carry out ``harness sample``: draw, write the suite, say what was drawn."""
    if args.n < 1:
        raise ConfigError(f"--n must be 1 or more, got {args.n}.")
    out: Path = args.out
    if out.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"--out {str(out)!r}: a suite file ends in .yaml; e.g. suites/prod.yaml.")
    if out.exists() and not args.force:
        raise ConfigError(
            f"{display_path(out)} exists. Give another --out, or --force to replace it."
        )
    settings = _settings(args.settings)
    db = (
        Path(args.db)
        if args.db
        else (settings.db if settings else Path.cwd() / "results" / "cost_eval.duckdb")
    )
    since = None
    if args.days is not None:
        since = (datetime.now(UTC) - timedelta(days=args.days)).replace(tzinfo=None)
    existing = _existing_prompts(settings, out)
    candidates = (
        Candidate(q.prompt, q.model, q.prompt_tokens) for q in recent_queries(db, since=since)
    )
    if args.topics < 0:
        raise ConfigError(f"--topics must be 0 or more, got {args.topics}.")
    result = draw_sample(candidates, existing, n=args.n, seed=args.seed, topics=args.topics)
    if not result.cases:
        raise ConfigError(
            f"{display_path(db)}: no stored prompts to sample"
            + (f" in the last {args.days:g} days" if since else "")
            + ". Import traffic with prompts (harness import traces FILE..., without "
            "--no-prompts)."
        )
    import yaml

    document = suite_document(
        result,
        out.stem,
        description=(
            f"Sampled from production traffic by `harness sample` on "
            f"{datetime.now(UTC):%Y-%m-%d} ({len(result.cases)} of {result.seen} recent "
            "queries; PII-shaped strings redacted). Review before committing."
        ),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(out) as handle:
        handle.write(
            "# Written by `harness sample`: review the cases (and the redactions) before "
            "committing.\n"
        )
        handle.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))
    repeats = "exact repeat" if result.repeats == 1 else "exact repeats"
    near = "near-duplicate" if result.near_duplicates == 1 else "near-duplicates"
    print(
        f"wrote {display_path(out)}: {len(result.cases)} cases from {result.seen} recent queries "
        f"({result.repeats} {repeats} and {result.near_duplicates} {near} left out)"
    )
    for stratum, count in sorted(result.strata.items()):
        print(f"  {stratum}: {count}")
    print("record the baseline's goldens for it, then run it:")
    print("  pytest --cost-eval --cost-eval-update-goldens")
    return 0
