"""``harness import traces``: production traffic into the ``traffic`` table.

::

    harness import traces FILE... [--format otlp|openai|litellm] [--db PATH]
                          [--no-prompts] [--cache-attribute NAME] [--settings PATH]

Each file is read one line (one batch of spans) at a time and staged in chunks,
so memory stays bounded; the calls are stored all together once every file has
been read (a problem anywhere stores nothing). The format is detected from the first line when not
given. Calls with no recorded cost are priced from the project's prices
(``[tool.cost-eval.prices]``, else genai-prices) and marked ``estimated``; a model
neither knows is stored unpriced and named, with the fix. Importing a file again
replaces its calls (dedupe by trace/span id, response id or request id).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.cli.command import add_settings_argument
from harness.config.prices import PriceTable
from harness.config.settings import Settings, load_settings
from harness.config.suites import display_path, now_iso
from harness.errors import ConfigError, CostEvalError
from harness.importers.litellm_logs import read_litellm_log
from harness.importers.openai_logs import read_openai_log
from harness.importers.otlp_traces import CACHE_MARKERS, read_otlp
from harness.importers.traffic import TRAFFIC_FORMATS, CallPricer, TrafficCall
from harness.store.traffic import write_traffic

__all__ = ["add_traces_parser", "detect_format", "run_import_traces"]


def add_traces_parser(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``traces`` kind of ``harness import``."""
    traces = kinds.add_parser(
        "traces",
        help="Production traffic: OTLP JSON (GenAI conventions), OpenAI logs, LiteLLM spend logs.",
        description="Store production LLM calls for `harness monitor` and `harness sample`.",
    )
    traces.add_argument("files", nargs="+", type=Path, metavar="FILE")
    traces.add_argument(
        "--format",
        choices=TRAFFIC_FORMATS,
        default=None,
        help="otlp: a collector's OTLP JSON file export; openai: JSONL of {request, response} "
        "bodies; litellm: LiteLLM spend logs (JSONL or CSV). Default: detected per file.",
    )
    traces.add_argument("--db", default=None, help="Results database. Default: the 'db' setting.")
    traces.add_argument(
        "--no-prompts",
        action="store_true",
        help="Do not store prompt texts (then `harness sample` has nothing to draw from).",
    )
    traces.add_argument(
        "--cache-attribute",
        action="append",
        default=[],
        metavar="NAME",
        help="A boolean span attribute that marks a response served from your own cache "
        f"(OTLP; read besides {', '.join(CACHE_MARKERS)}). Repeatable.",
    )
    add_settings_argument(traces)


def detect_format(path: Path) -> str:
    """``otlp``, ``openai`` or ``litellm`` from the first line of ``path``.

    Raises:
        ConfigError: none of them; says how to name the format.
    """
    if path.suffix.lower() == ".csv":
        return "litellm"
    try:
        with path.open(encoding="utf-8") as handle:
            first = next((line for line in handle if line.strip()), "")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. Give the path of an exported trace file."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file as UTF-8 text ({exc}).") from None
    head = first.strip()
    if head in ("{", "[") or '"resourceSpans"' in head[:200]:
        return "otlp"
    try:
        record = json.loads(head)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        if "resourceSpans" in record:
            return "otlp"
        if "request" in record and "response" in record:
            return "openai"
        if "request_id" in record and ("spend" in record or "startTime" in record):
            return "litellm"
    raise ConfigError(
        f"{path}:1: cannot tell the format of this file. Name it with --format "
        f"{'|'.join(TRAFFIC_FORMATS)} (see `harness import traces --help`)."
    )


def _calls(
    files: Sequence[Path],
    fmt: str | None,
    markers: Sequence[str],
    prompts: bool,
    skipped: Counter[str],
) -> Iterator[TrafficCall]:
    for path in files:
        kind = fmt or detect_format(path)
        if kind == "otlp":
            yield from read_otlp(path, cache_markers=markers, prompts=prompts)
        elif kind == "openai":
            yield from read_openai_log(path, prompts=prompts)
        else:
            yield from read_litellm_log(path, prompts=prompts, skipped=skipped)


def _settings(settings_path: str | None) -> Settings | None:
    """The project's settings (for prices and the db); None when there is no project here."""
    try:
        return load_settings(Path.cwd(), settings_path)
    except CostEvalError:
        if settings_path:
            raise
        return None


def run_import_traces(args: argparse.Namespace) -> int:
    """Carry out ``harness import traces``: read, price, store, and say what was stored."""
    settings = _settings(args.settings)
    db = (
        Path(args.db)
        if args.db
        else (settings.db if settings else Path.cwd() / "results" / "cost_eval.duckdb")
    )
    pricer = CallPricer(PriceTable(settings.prices if settings else {}))
    counts = {"recorded": 0, "estimated": 0, "unpriced": 0}
    models: dict[str, int] = {}
    skipped: Counter[str] = Counter()

    def priced() -> Iterator[TrafficCall]:
        markers = (*CACHE_MARKERS, *args.cache_attribute)
        for call in _calls(args.files, args.format, markers, not args.no_prompts, skipped):
            call = pricer.priced(call)
            counts[call.cost_source] += 1
            models[call.model] = models.get(call.model, 0) + 1
            yield call

    try:
        written = write_traffic(db, priced(), now_iso())
    except ConfigError as exc:
        raise ConfigError(
            f"{exc} Nothing was stored; fix the file and import it again (calls already "
            "stored by an earlier import are replaced, not added)."
        ) from None
    print(
        f"imported {written.stored:,} calls from {len(args.files)} file(s) into "
        f"{display_path(db)} ({written.stored - written.replaced:,} new, "
        f"{written.replaced:,} already stored and replaced)"
    )
    for model, count in sorted(models.items()):
        print(f"  {model}: {count:,} calls")
    for call_type, count in sorted(skipped.items()):
        # Said, not silent: the file holds more rows than the traffic now does.
        print(
            f"  skipped: {count:,} {call_type} row(s) (not chat completions: no answer to monitor)"
        )
    print(
        f"  cost: {counts['recorded']:,} recorded by the source, {counts['estimated']:,} "
        f"estimated from prices, {counts['unpriced']:,} unpriced"
    )
    for model, count in sorted(pricer.unpriced.items()):
        print(
            f"  note: {count:,} calls of {model!r} have no cost: no price is known. Add "
            f'[tool.cost-eval.prices."{model}"] (input, output in USD per million tokens) '
            "and import the file again (its calls are replaced, not added)."
        )
    print("next: harness monitor --config NAME   (NAME: the configuration you shipped)")
    return 0
