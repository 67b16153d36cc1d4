"""``harness import``: turn recorded traffic or published benchmark outputs into a project.

::

    harness import recordings FILE... --suite NAME --baseline MODEL [--out DIR]
                            [--scorer SPEC] [--extract NAME] [--quality-scale MIN,MAX]
    harness import routellm FILE --suite NAME [--benchmark gsm8k|mmlu]
                            [--contaminated FILE] [--answers FILE] [--scorer S] [--out DIR]

Writes ``suites/``, ``goldens/`` and ``recorded/`` under ``--out``, stores every
recorded response in the response store (``results/cost_eval.duckdb`` there),
and, when the folder has no configuration yet, a ``cost-eval.toml`` whose
``replay:`` configurations run the imported suite offline::

    pytest --cost-eval --cost-eval-config OUT/cost-eval.toml
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

from harness.cli.command import Command
from harness.config.suites import display_path, now_iso
from harness.errors import ConfigError
from harness.importers.recordings import ImportResult, import_recordings, imported_scorer
from harness.importers.records import QualityScale
from harness.importers.routellm import ROUTELLM_PRICES, import_routellm
from harness.store.responses import store_responses
from harness.types import Request, Response

CONFIG_FILE = "cost-eval.toml"


class ImportCommand(Command):
    """``harness import recordings FILE...`` and ``harness import routellm FILE`` (module docs)."""

    name = "import"
    help = "Import recordings or RouteLLM outputs as a suite with goldens."

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

    def run(self, args: argparse.Namespace) -> int:
        return run_import(args)


def run_import(args: argparse.Namespace) -> int:
    """Carry out ``harness import``; prints what was written and the command to run next."""
    out: Path = args.out
    if args.kind == "recordings":
        params = None
        if args.params:
            try:
                params = json.loads(args.params)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"--params is not valid JSON: {exc.msg}.") from None
        scale = QualityScale.parse(args.quality_scale) if args.quality_scale else None
        # Checked before any response is stored: a misspelt scorer leaves nothing behind.
        scorer = imported_scorer(args.scorer, args.extract)
        # Streamed: responses go to the store in chunks as they are read, so a
        # large recordings file is never held in memory whole.
        sink = ChunkedStore(out / "results" / "cost_eval.duckdb")
        result = import_recordings(
            args.files,
            suite=args.suite,
            baseline=args.baseline,
            out_dir=out,
            params=params,
            scorer=scorer,
            on_response=sink.add,
            quality_scale=scale,
        )
        sink.flush()
        streamed = sink.stored
        prices: Mapping[str, tuple[float, float]] = {}
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
        prices = ROUTELLM_PRICES
        streamed = 0
    db = out / "results" / "cost_eval.duckdb"
    stored = streamed + store_responses(db, result.responses, now_iso())
    config = out / CONFIG_FILE
    wrote_config = False
    if not config.exists():
        config.write_text(starter_config(result, prices), encoding="utf-8")
        wrote_config = True
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
    print(f"  pytest --cost-eval --cost-eval-config {display_path(config)}")
    return 0


class ChunkedStore:
    """Receives imported responses one by one and stores them in chunks."""

    CHUNK = 5_000

    def __init__(self, db: Path) -> None:
        self.db = db
        self.pending: list[tuple[Request, Response]] = []
        self.stored = 0

    def add(self, request: Request, response: Response) -> None:
        """Keep one response; store the chunk once it is full."""
        self.pending.append((request, response))
        if len(self.pending) >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        """Store what is pending."""
        if self.pending:
            self.stored += store_responses(self.db, self.pending, now_iso())
            self.pending = []


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
