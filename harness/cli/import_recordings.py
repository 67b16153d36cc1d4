"""``harness import``: turn recorded traffic or published benchmark outputs into a project.

::

    harness import recordings FILE... --suite NAME --baseline MODEL [--out DIR]
                            [--scorer SPEC] [--extract NAME] [--quality-scale MIN,MAX]
    harness import routellm FILE --suite NAME [--benchmark gsm8k|mmlu]
                            [--contaminated FILE] [--answers FILE] [--scorer S] [--out DIR]
    harness import traces FILE... [--format otlp|openai|litellm] [--db PATH]   (see import_traces)

Writes ``suites/``, ``goldens/`` and ``recorded/`` under ``--out``, stores every
recorded response in the response store (``results/cost_eval.duckdb`` there),
and, when the folder has no configuration yet, a ``cost-eval.toml`` whose
``replay:`` configurations run the imported suite offline::

    pytest --cost-eval --cost-eval-settings OUT/cost-eval.toml

``import recordings`` is all or nothing and its memory does not grow with the
files: see :func:`import_recordings_command`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from harness.cli.command import Command
from harness.cli.import_traces import add_traces_parser, run_import_traces
from harness.config.suites import display_path, now_iso
from harness.errors import ConfigError, StorageError
from harness.files import StagedTree
from harness.importers.import_scorer import imported_scorer
from harness.importers.recordings import ImportResult, import_recordings
from harness.importers.records import QualityScale
from harness.importers.routellm import ROUTELLM_PRICES, import_routellm
from harness.store.responses import store_responses
from harness.store.staged_responses import ResponseStage, store_staged

CONFIG_FILE = "cost-eval.toml"


class ImportCommand(Command):
    """``harness import recordings FILE...`` and ``harness import routellm FILE`` (module docs)."""

    name = "import"
    help = "Import recordings or RouteLLM outputs as a suite, or production traces."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
        recordings = kinds.add_parser(
            "recordings", help="JSONL recordings: case_id, model, response, prompt|messages, ..."
        )
        recordings.add_argument("files", nargs="+", type=Path, metavar="FILE")
        recordings.add_argument("--suite", required=True, help="Name of the suite to write.")
        recordings.add_argument(
            "--baseline", required=True, help="The model whose responses become the goldens."
        )
        recordings.add_argument(
            "--params",
            default=None,
            help="Sampling parameters the recordings used, as JSON (e.g. '{\"temperature\": 0}').",
        )
        recordings.add_argument(
            "--scorer",
            default=None,
            help="Scorer of the suite: a name (numeric) or a table as YAML "
            "('{name: numeric, tolerance: 0.01}'); default: recorded when every line has a "
            "quality, else exact.",
        )
        recordings.add_argument(
            "--extract",
            default=None,
            metavar="NAME",
            help="What the scorer reads from each answer and reference (last_number, boxed, "
            "yes_no, choice, answer_line, json:<path>, regex:<pattern>); with no --scorer, "
            "scores with exact on it.",
        )
        recordings.add_argument(
            "--quality-scale",
            default=None,
            metavar="MIN,MAX",
            help="Scale of the recorded quality (e.g. 1,10 for a judge's scores): mapped into "
            "[0, 1]; a score outside it (like -1) makes that case an error row.",
        )
        recordings.add_argument("--out", type=Path, default=Path("."), help="Project folder.")
        routellm = kinds.add_parser("routellm", help="RouteLLM's published CSV (gsm8k or mmlu).")
        routellm.add_argument("file", type=Path, metavar="FILE")
        routellm.add_argument("--suite", required=True, help="Name of the suite to write.")
        routellm.add_argument("--benchmark", choices=("gsm8k", "mmlu"), default="gsm8k")
        routellm.add_argument(
            "--contaminated",
            type=Path,
            default=None,
            help="RouteLLM's *_contaminated_prompts.jsonl: those prompts are dropped.",
        )
        routellm.add_argument(
            "--answers",
            type=Path,
            default=None,
            help="GSM8K's test.jsonl: adds each case's expected answer (for the numeric scorer).",
        )
        routellm.add_argument(
            "--scorer",
            default="recorded",
            help="recorded (RouteLLM's labels) or numeric (with --answers).",
        )
        routellm.add_argument("--out", type=Path, default=Path("."), help="Project folder.")
        add_traces_parser(kinds)

    def run(self, args: argparse.Namespace) -> int:
        if args.kind == "traces":
            return run_import_traces(args)
        return run_import(args)


def run_import(args: argparse.Namespace) -> int:
    """Carry out ``harness import``; prints what was written and the command to run next."""
    out: Path = args.out
    db = out / "results" / "cost_eval.duckdb"
    config = out / CONFIG_FILE
    wrote_config = not config.exists()
    if args.kind == "recordings":
        result, stored = import_recordings_command(args, db, wrote_config)
    else:
        result = import_routellm(
            args.file,
            suite=args.suite,
            out_dir=out,
            benchmark=args.benchmark,
            contaminated=args.contaminated,
            gsm8k_answers=args.answers,
            scorer=args.scorer,
        )
        stored = store_responses(db, result.responses, now_iso())
        if wrote_config:
            config.write_text(starter_config(result, ROUTELLM_PRICES), encoding="utf-8")
    print(
        f"imported suite {result.suite!r}: {result.cases} cases from {result.rows} rows"
        + (f" ({result.dropped} dropped as contaminated)" if result.dropped else "")
    )
    for model, count in sorted(result.models.items()):
        print(f"  {model}: {count} responses")
    print(f"  suite:   {display_path(result.suite_path)}")
    print(f"  goldens: {display_path(result.goldens_path)}")
    print(f"  labels:  {display_path(result.recorded_path)}")
    print(f"  store:   {display_path(db)} ({stored} responses)")
    for note in result.notes:
        print(f"  note: {note}")
    if wrote_config:
        print(f"wrote {display_path(config)}; run it with:")
    else:
        print(f"{display_path(config)} exists (not changed); run with:")
    print(f"  pytest --cost-eval --cost-eval-settings {display_path(config)}")
    return 0


def import_recordings_command(
    args: argparse.Namespace, db: Path, write_config: bool
) -> tuple[ImportResult, int]:
    """``harness import recordings``: all or nothing, in memory that does not grow with the files.

    Responses are staged on disk as they are read and the files built in a
    hidden folder; the responses are stored in one transaction, inside which the
    files (and the starter configuration) are moved into place. A failure at any
    point leaves the output folder and the database as they were.
    """
    params = None
    if args.params:
        try:
            params = json.loads(args.params)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--params is not valid JSON: {exc.msg}.") from None
    scale = QualityScale.parse(args.quality_scale) if args.quality_scale else None
    # Checked before any line is read: a misspelt scorer costs nothing.
    scorer = imported_scorer(args.scorer, args.extract)
    try:
        with StagedTree(args.out) as tree:
            stage = ResponseStage(tree.scratch("responses.jsonl"))
            try:
                result = import_recordings(
                    args.files,
                    suite=args.suite,
                    baseline=args.baseline,
                    out_dir=args.out,
                    params=params,
                    scorer=scorer,
                    on_response=stage.add,
                    quality_scale=scale,
                    tree=tree,
                )
            finally:
                stage.close()
            if write_config:
                tree.file(CONFIG_FILE).write_text(starter_config(result, {}), encoding="utf-8")
            stored = store_staged(db, stage, now_iso(), before_commit=tree.publish)
    except (OSError, sqlite3.Error) as exc:
        # A full disk, a folder we may not write (the import's index is a SQLite file):
        # the staged tree is gone already.
        problem = getattr(exc, "strerror", None) or exc
        filename = getattr(exc, "filename", None)
        raise StorageError(
            f"{display_path(args.out)}: cannot write the import ({problem}"
            + (f": {filename}" if filename else "")
            + "). Nothing was imported: the folder and its database are as they were. Free "
            "disk space or choose another folder with --out, then import again."
        ) from None
    return result, stored


def starter_config(result: ImportResult, prices: Mapping[str, tuple[float, float]]) -> str:
    """A ``[tool.cost-eval]`` table that replays every imported model against the baseline."""
    baseline = result.baseline
    lines = [
        "# Written by `harness import`: every model below answers from the recordings",
        "# (replay:), so this runs offline and costs nothing.",
        "[tool.cost-eval]",
        'suites = "suites"',
        'goldens = "goldens"',
        'db = "results/cost_eval.duckdb"',
        'report = "results/report.html"',
        f'baseline = "replay:{baseline}"',
        'volume = "100k/day"',
        "",
    ]
    for model, (price_in, price_out) in sorted(prices.items()):
        lines += [
            f'[tool.cost-eval.prices."{model}"]',
            f"input = {price_in}",
            f"output = {price_out}",
            "",
        ]
    for model in sorted(result.models):
        if model == baseline:
            continue
        # A bare name (as logs write it) is its own short name.
        short = model.partition(":")[2] or model
        name = short.replace("/", "-").replace(":", "-").replace(" ", "-")
        lines += [
            "[[tool.cost-eval.configs]]",
            f'name = "{name}-only"',
            f'model = "replay:{model}"',
            "",
        ]
    return "\n".join(lines)
