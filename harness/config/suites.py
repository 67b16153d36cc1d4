"""Parse and validate ``suites/*.yaml`` and ``goldens/<suite>/<model>.jsonl``.

A suite is flat data (never code)::

    suite: arithmetic
    version: 1
    description: Multi-step arithmetic with exact answers.
    scorer: numeric                 # or {name: fuzzy, threshold: 0.8}
    reference: expected             # golden | expected | both
    params: {temperature: 0, max_tokens: 256}
    gate: {max_quality_drop: 0.03}  # overrides [tool.cost-eval.gate]
    cases:                          # inline, or cases_file: cases.jsonl (or .parquet),
                                    # or dataset: {path: openai/gsm8k, ...} (dataset_suites)
      - id: arith-001
        prompt: "Compute (17 + 4) * 3 - 8."
        expected: "55"
        category: three-step

Every problem is reported as a :class:`~harness.errors.SuiteError` naming the
file, the case and the key, with how to fix it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.config.dataset_suites import dataset_rows, parse_dataset_spec
from harness.config.suite_limits import (
    MAX_CASE_CHARS,
    MAX_CASES_FILE_BYTES,
    MAX_LINE_BYTES,
    check_inside,
    load_suite_yaml,
)
from harness.config_values import check_keys
from harness.errors import GoldenError, SuiteError
from harness.files import AtomicFile
from harness.stats.gates import GateSpec
from harness.types import SCHEMA_VERSION, Case, Golden, Message, Reference, Request, Usage

if TYPE_CHECKING:
    from harness.config.settings import Settings

SUITE_KEYS = (
    "suite",
    "version",
    "description",
    "scorer",
    "reference",
    "params",
    "gate",
    "system",
    "cases",
    "cases_file",
    "dataset",
)
CASE_KEYS = (
    "id",
    "prompt",
    "system",
    "context",
    "history",
    "category",
    "tags",
    "expected",
    "paraphrase_of",
    "knowledge_version",
)
REFERENCES: tuple[Reference, ...] = ("golden", "expected", "both")
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True, kw_only=True)
class Suite:
    """A loaded, validated suite."""

    name: str
    path: Path
    """The YAML file it was read from."""
    version: int
    description: str
    scorer: str | Mapping[str, Any]
    """The scorer spec as written; built by :func:`harness.scoring.build_scorer`."""
    reference: Reference
    params: tuple[tuple[str, Any], ...]
    gate_overrides: Mapping[str, Any] = field(default_factory=dict)
    cases: tuple[Case, ...]

    def request(self, case: Case, model: str) -> Request:
        """The request a case sends to ``model`` with this suite's parameters."""
        return Request(
            model=model,
            messages=case.messages(),
            params=self.params,
            case_id=case.id,
            knowledge_version=case.knowledge_version,
        )


def display_path(path: Path, root: Path | None = None) -> str:
    """``path`` relative to ``root`` (or the working directory) when it lies below it."""
    return _relative_path(path, str(root) if root is not None else os.getcwd())


@functools.lru_cache(maxsize=512)
def _relative_path(path: Path, base: str) -> str:
    # Cached: messages name a suite's file per case (resolving two paths cost 40 us
    # a call, 40 % of scoring 250,000 stored answers); the key holds the working
    # directory, so a change of directory is never served a stale answer.
    try:
        return str(path.resolve().relative_to(Path(base).resolve()))
    except ValueError:
        return str(path)


def not_utf8(exc: UnicodeDecodeError) -> str:
    """The sentence for a file that is not UTF-8 text."""
    return (
        f"not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
        f"{exc.start}). Save the file as UTF-8 (and check it is not truncated or binary)."
    )


def unencodable(value: Any) -> bool:
    """Whether ``value`` holds a string that cannot be written as UTF-8.

    JSON text may escape half a surrogate pair (``"\\ud800"``); such a string
    cannot be hashed, stored or written to a goldens file.
    """
    seen: set[int] = set()  # YAML aliases share containers: visit each once
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, Mapping | list | tuple) and id(item) not in seen:
            seen.add(id(item))
            if isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
    return False


def suite_files(suites_dir: Path) -> list[Path]:
    """The suite files of a folder, sorted; files starting with ``_`` are skipped."""
    if not suites_dir.is_dir():
        return []
    return sorted(
        p
        for p in suites_dir.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(("_", "."))
    )


def load_suite(
    path: Path,
    *,
    gate: GateSpec | None = None,
    root: Path | None = None,
    outside_ok: bool = False,
) -> Suite:
    """Read and validate one suite file.

    A ``cases_file`` must lie inside ``root`` (the project folder; by default the
    suite's own folder) or the suite's folder, unless ``outside_ok``
    (``cases_outside_project = true``).

    Raises:
        SuiteError: malformed YAML, unknown keys, bad cases, duplicate ids, a
            file or case beyond the size limits, a cases file outside the project.
    """
    where = display_path(path)
    try:
        data = load_suite_yaml(path, where=where)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SuiteError(
            f"{where}: not valid YAML{at}: {exc.problem}. Fix the syntax there "
            "(check indentation and quoting: values with ':' or '#' need quotes)."
        ) from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{where}: not valid YAML: {exc}.") from None
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{where}: {not_utf8(exc)}") from None
    except RecursionError:
        raise SuiteError(f"{where}: nested too deeply to read as YAML.") from None
    except OSError as exc:
        raise SuiteError(f"{where}: cannot read the file: {exc.strerror or exc}.") from None
    if not isinstance(data, Mapping):
        raise SuiteError(
            f"{where}: a suite must be a mapping with 'cases' (or 'cases_file'), "
            f"got {type(data).__name__}. See the README for the format."
        )
    if unencodable(data):
        raise SuiteError(
            f"{where}: holds text that is not valid Unicode (an escaped lone surrogate such "
            "as \\ud800). Fix the text that produced it."
        )
    check_keys(data, SUITE_KEYS, where=where, error=SuiteError)
    name = data.get("suite", path.stem)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\: []"):
        raise SuiteError(f"{where}: 'suite' must be a simple name, got {name!r}.")
    reference = data.get("reference", "golden")
    if reference not in REFERENCES:
        raise SuiteError(
            f"{where}: 'reference' must be one of {', '.join(REFERENCES)}, got {reference!r}."
        )
    scorer = data.get("scorer", "exact")
    if not isinstance(scorer, str | Mapping):
        raise SuiteError(
            f"{where}: 'scorer' must be a name or a table with 'name', got {scorer!r}."
        )
    params = data.get("params", {}) or {}
    if not isinstance(params, Mapping):
        raise SuiteError(f"{where}: 'params' must be a mapping like {{temperature: 0}}.")
    check_params(params, where=f"{where}: params")
    gate_table = data.get("gate", {}) or {}
    if not isinstance(gate_table, Mapping):
        raise SuiteError(f"{where}: 'gate' must be a mapping like {{max_quality_drop: 0.03}}.")
    # Validate the overrides now so a bad gate is reported against this file.
    (gate or GateSpec()).merged(gate_table, where=f"{where}: gate", error=SuiteError)
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise SuiteError(f"{where}: 'version' must be an integer, got {version!r}.")
    system = data.get("system")
    if system is not None and not isinstance(system, str):
        raise SuiteError(f"{where}: 'system' must be a string.")

    if sum(key in data for key in ("cases", "cases_file", "dataset")) != 1:
        raise SuiteError(
            f"{where}: give exactly one of 'cases' (a list), 'cases_file' (a .jsonl or "
            ".parquet file beside the suite) or 'dataset' (a Hugging Face dataset)."
        )
    rows: Iterable[tuple[str, Any]]
    if "dataset" in data:
        spec = parse_dataset_spec(data["dataset"], where=where)
        rows = dataset_rows(path, spec, where=where, root=root, outside_ok=outside_ok)
    elif "cases" in data:
        raw_cases = data["cases"]
        if not isinstance(raw_cases, list):
            raise SuiteError(f"{where}: 'cases' must be a list of cases.")
        rows = ((f"{where}: case #{i + 1}", row) for i, row in enumerate(raw_cases))
    else:
        rows = read_case_file(
            path, data["cases_file"], where=where, root=root, outside_ok=outside_ok
        )
    cases: list[Case] = []
    seen: set[str] = set()
    for case_where, row in rows:
        case = parse_case(row, suite=name, default_system=system, where=case_where)
        if case.id in seen:
            raise SuiteError(
                f"{case_where}: case id {case.id!r} is used twice. Ids must be unique."
            )
        seen.add(case.id)
        if reference in ("expected", "both") and case.expected is None:
            raise SuiteError(
                f"{case_where} ({case.id!r}): the suite scores against the expected answer "
                f"(reference: {reference}) but this case has no 'expected'. Add one, or set "
                "reference: golden."
            )
        cases.append(case)
    if not cases:
        raise SuiteError(f"{where}: the suite has no cases.")
    for case in cases:
        if case.paraphrase_of is not None and case.paraphrase_of not in seen:
            raise SuiteError(
                f"{where}: case {case.id!r} says paraphrase_of {case.paraphrase_of!r}, "
                "which is not a case of this suite."
            )
    return Suite(
        name=name,
        path=path,
        version=version,
        description=str(data.get("description", "")),
        scorer=scorer,
        reference=reference,
        params=tuple(sorted(params.items())),
        gate_overrides=dict(gate_table),
        cases=tuple(cases),
    )


def load_project_suite(path: Path, settings: Settings) -> Suite:
    """:func:`load_suite` with the project's gate, folder and ``cases_outside_project``."""
    return load_suite(
        path, gate=settings.gate, root=settings.root, outside_ok=settings.cases_outside_project
    )


def check_params(params: Mapping[Any, Any], *, where: str) -> None:
    """Request parameters must be named by strings and hold JSON values.

    They are sent to the provider and hashed into every request key, so a date
    (YAML reads ``2024-01-01`` as one) or a non-text key could not be sent.

    Raises:
        SuiteError: the first key or value that does not fit.
    """
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise SuiteError(f"{where}: parameter names must be text, got {key!r}.")
        try:
            json.dumps(value, allow_nan=False, sort_keys=True)
        except (TypeError, ValueError):
            raise SuiteError(
                f"{where}: {key!r} must be a JSON value (number, text, true/false, list or "
                f"mapping), got {value!r}. Quote it if it is meant as text."
            ) from None


def read_case_file(
    suite_path: Path,
    name: Any,
    *,
    where: str,
    root: Path | None = None,
    outside_ok: bool = False,
) -> Iterator[tuple[str, Any]]:
    """Rows of a JSONL (read directly, so errors carry line numbers) or Parquet file.

    The file must lie inside ``root`` or the suite's folder (links resolved)
    unless ``outside_ok``, and hold at most :data:`MAX_CASES_FILE_BYTES`.
    """
    if not isinstance(name, str):
        raise SuiteError(f"{where}: 'cases_file' must be a file name, got {name!r}.")
    path = suite_path.parent / name
    shown = display_path(path)
    if not outside_ok:
        check_inside(path, (root or suite_path.parent, suite_path.parent), name=name, where=where)
    if not path.is_file():
        raise SuiteError(f"{where}: cases_file {name!r} not found (looked at {shown}).")
    size = path.stat().st_size
    if size > MAX_CASES_FILE_BYTES:
        raise SuiteError(
            f"{where}: cases_file {name!r} holds {size:,} bytes, more than the "
            f"{MAX_CASES_FILE_BYTES // (1024 * 1024)} MiB a suite may read (its cases are held "
            "in memory). Split the cases into several suites."
        )
    if path.suffix == ".jsonl":
        yield from read_jsonl(path, shown=shown)
    elif path.suffix == ".parquet":
        # Parquet goes through `datasets` (imported only here: it is slow to import).
        import datasets

        table = datasets.Dataset.from_parquet(str(path), keep_in_memory=True)
        for index, row in enumerate(table):
            yield f"{shown}: row {index + 1}", row
    else:
        raise SuiteError(f"{where}: cases_file {name!r} must end in .jsonl or .parquet.")


def read_jsonl(
    path: Path, *, shown: str | None = None, max_line: int = MAX_LINE_BYTES
) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` for every non-blank line of a JSONL file, streamed.

    A line longer than ``max_line`` bytes is refused before it is read whole.

    Raises:
        SuiteError: the file cannot be read, is not UTF-8, a line is too long or
            not JSON (or holds a string that is not valid Unicode); the message
            names the file and the line.
    """
    shown = shown or display_path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SuiteError(f"{shown}: cannot read the file: {exc.strerror or exc}.") from None
    with handle:
        try:
            for number, raw in enumerate(iter(lambda: handle.readline(max_line + 1), b""), 1):
                where = f"{shown}: line {number}"
                if len(raw) > max_line:
                    raise SuiteError(
                        f"{where} is longer than {max_line:,} bytes. Each line must be one "
                        "JSON object (a case or a record); check the file is JSON Lines, not "
                        "one large JSON document, and shorten the long text."
                    )
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise SuiteError(f"{where}: {not_utf8(exc)}") from None
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SuiteError(
                        f"{where} is not valid JSON ({exc.msg}). Each line must be one JSON object."
                    ) from None
                except RecursionError:
                    raise SuiteError(f"{where} is nested too deeply to read.") from None
                # Only an escaped half of a surrogate pair makes text unencodable.
                if "\\u" in line and unencodable(row):
                    raise SuiteError(
                        f"{where} holds text that is not valid Unicode (an escaped lone "
                        "surrogate such as \\ud800). Fix the text that produced it."
                    )
                yield where, row
        except OSError as exc:
            raise SuiteError(f"{shown}: cannot read the file: {exc.strerror or exc}.") from None


def parse_case(row: Any, *, suite: str, default_system: str | None, where: str) -> Case:
    """One case from its raw mapping."""
    if not isinstance(row, Mapping):
        raise SuiteError(f"{where}: a case must be a mapping with 'id' and 'prompt', got {row!r}.")
    case_id = row.get("id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id.strip():
        raise SuiteError(f"{where}: every case needs an 'id' (a non-empty string).")
    where = f"{where} (id {case_id!r})"
    check_keys(row, CASE_KEYS, where=where, error=SuiteError)
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise SuiteError(f"{where}: 'prompt' must be a non-empty string, got {prompt!r}.")

    def text_list(key: str) -> tuple[str, ...]:
        value = row.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SuiteError(f"{where}: {key!r} must be a list of strings.")
        return tuple(value)

    history: list[Message] = []
    raw_history = row.get("history") or []
    if not isinstance(raw_history, list):
        raise SuiteError(f"{where}: 'history' must be a list of {{role, content}} turns.")
    for index, turn in enumerate(raw_history):
        if (
            not isinstance(turn, Mapping)
            or turn.get("role") not in ROLES
            or not isinstance(turn.get("content"), str)
        ):
            raise SuiteError(
                f"{where}: history turn {index + 1} must be {{role: user|assistant|system, "
                f"content: text}}, got {turn!r}."
            )
        history.append(Message(role=turn["role"], content=turn["content"]))

    def optional_text(key: str) -> str | None:
        value = row.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise SuiteError(f"{where}: {key!r} must be text, got {value!r}.")
        return value

    category = optional_text("category") or "default"
    size = sum(len(text) for text in (prompt, *text_list("context"))) + sum(
        len(turn.content) for turn in history
    )
    size += sum(len(optional_text(key) or "") for key in ("system", "expected"))
    if size > MAX_CASE_CHARS:
        raise SuiteError(
            f"{where}: the case holds {size:,} characters of text (prompt, system, context, "
            f"history and expected), more than the limit of {MAX_CASE_CHARS:,} (about a "
            "million tokens, beyond any model's context window). Shorten it."
        )
    return Case(
        id=case_id,
        suite=suite,
        prompt=prompt,
        system=optional_text("system") or default_system,
        context=text_list("context"),
        history=tuple(history),
        category=category,
        tags=text_list("tags"),
        expected=optional_text("expected"),
        paraphrase_of=optional_text("paraphrase_of"),
        knowledge_version=optional_text("knowledge_version"),
    )


# --------------------------------------------------------------------------- goldens


def model_file_name(model: str) -> str:
    """File name for a model's goldens: ``sim:frontier`` -> ``sim_frontier.jsonl``."""
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in model) + ".jsonl"


def goldens_path(goldens_dir: Path, suite: str, model: str) -> Path:
    """Where the goldens of ``suite`` recorded by ``model`` live."""
    return goldens_dir / suite / model_file_name(model)


def load_goldens(goldens_dir: Path, suite: str, model: str) -> dict[str, Golden]:
    """The goldens of a suite by case id; an absent file gives none.

    Raises:
        GoldenError: a line is not valid JSON or lacks a field.
    """
    path = goldens_path(goldens_dir, suite, model)
    if not path.is_file():
        return {}
    shown = display_path(path)
    goldens: dict[str, Golden] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                usage = row.get("usage") or {}
                golden = Golden(
                    case_id=str(row["case_id"]),
                    model=str(row["model"]),
                    request_hash=str(row["request_hash"]),
                    text=str(row["response"]),
                    usage=Usage(**{k: int(v) for k, v in usage.items()}),
                    latency_ms=float(row.get("latency_ms", 0.0)),
                    recorded_at=str(row.get("recorded_at", "")),
                    cost_usd=recorded_cost(row.get("cost_usd")),
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
                raise GoldenError(
                    f"{shown}: line {number} is not a valid golden ({type(exc).__name__}: {exc}). "
                    "Delete the line and re-record it with --cost-eval-update-goldens."
                ) from None
            goldens[golden.case_id] = golden
    return goldens


def golden_row(golden: Golden) -> dict[str, Any]:
    """The JSON object stored for a golden (keys in a stable order)."""
    usage = golden.usage.as_dict(skip_zero=True)
    return {
        "schema_version": SCHEMA_VERSION,
        "case_id": golden.case_id,
        "model": golden.model,
        "request_hash": golden.request_hash,
        "response": golden.text,
        "usage": usage,
        "latency_ms": round(golden.latency_ms, 1),
        "recorded_at": golden.recorded_at,
        # Only when billed: goldens priced from their usage keep their old lines.
        **({} if golden.cost_usd is None else {"cost_usd": float(golden.cost_usd)}),
    }


def recorded_cost(value: Any) -> Decimal | None:
    """A cost read from JSON (a goldens or journal line) as the Decimal written, or None.

    A float goes through its shortest text (``0.001074``, not the binary value).

    Raises:
        ValueError: not a number >= 0 (a malformed line).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"'cost_usd' must be a number, got {value!r}")
    cost = Decimal(repr(value) if isinstance(value, float) else str(value))
    if not cost.is_finite() or cost < 0:
        raise ValueError(f"'cost_usd' must be a finite number >= 0, got {value!r}")
    return cost


def write_goldens(path: Path, goldens: Iterable[Golden]) -> None:
    """Write goldens atomically, one JSON object per line, in the order given.

    The file is written beside its final place and renamed over it, so a crash
    never leaves a half-written file.
    """
    with AtomicFile(path) as out:
        for golden in goldens:
            out.write_json_line(golden_row(golden))


def now_iso() -> str:
    """The current UTC time, ISO-8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
