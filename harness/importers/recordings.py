"""Import recorded LLM responses as a suite, goldens, response-store entries and labels.

Two sources:

- :func:`import_recordings`: your own logs, one JSON object per line::

      {"case_id": "q-001", "model": "openai:gpt-4o", "prompt": "What is 2 + 2?",
       "response": "4", "expected": "4", "category": "math",
       "usage": {"input_tokens": 12, "output_tokens": 1}, "cost_usd": 0.00004,
       "latency_ms": 310, "quality": 1.0}

  ``messages`` (a list of ``{role, content}``, ending with the user's turn) may
  replace ``prompt``; every line of a case (one per model) must carry the same
  question.
- :func:`import_routellm`: RouteLLM's published evaluation CSVs (GSM8K with
  both models' answers, MMLU with correctness only), decontaminated.

Both write, under ``out_dir``:

- ``suites/<suite>.yaml`` and its cases file ``suites/<suite>.jsonl``;
- ``goldens/<suite>/<baseline>.jsonl``: the baseline model's answers, with the
  request hash a run computes (``Suite.request(case, model).hash()``, the case
  built by :func:`harness.config.suites.parse_case` from the same row the cases file
  holds), so the goldens are current;
- ``recorded/<suite>.jsonl``: per case and model the recorded quality label,
  cost, latency and usage (read by the ``recorded`` scorer and by sweeps).

and return the response-store entries of every model (``(Request, Response)``
pairs, one per distinct request hash) for the caller to store, after which
``replay:<model>`` configurations run offline.

Input is streamed line by line; every problem is a :class:`~harness.errors.SuiteError`
naming the file and line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.config.suites import (
    Suite,
    display_path,
    golden_row,
    goldens_path,
    now_iso,
    parse_case,
    read_jsonl,
    write_goldens,
)
from harness.errors import SuiteError
from harness.files import AtomicFile
from harness.scoring.recorded import SIDECAR_DIR, RecordedLabel, sidecar_row
from harness.types import Case, Golden, Request, Response, Usage

__all__ = [
    "ROUTELLM_PRICES",
    "ROUTELLM_STRONG",
    "ROUTELLM_WEAK",
    "ImportResult",
    "import_recordings",
    "import_routellm",
    "read_contaminated",
]

ResponseSink = Callable[[Request, Response], None]
"""Receives the response-store entries of a streaming import, one at a time."""

ROUTELLM_STRONG = "routellm:gpt-4-1106-preview"
"""RouteLLM's strong model, as a model spec (``replay:`` it to run offline)."""
ROUTELLM_WEAK = "routellm:mixtral-8x7b-instruct-v0.1"
"""RouteLLM's weak model (``mistralai/Mixtral-8x7B-Instruct-v0.1``)."""
ROUTELLM_COLUMNS = {
    ROUTELLM_STRONG: "gpt-4-1106-preview",
    ROUTELLM_WEAK: "mistralai/Mixtral-8x7B-Instruct-v0.1",
}
ROUTELLM_PRICES = {ROUTELLM_STRONG: (10.0, 30.0), ROUTELLM_WEAK: (0.6, 0.6)}
"""USD per 1M (input, output) tokens: GPT-4 Turbo's list price, Mixtral-8x7B at
Together AI. Token counts of RouteLLM rows are estimated (4 characters a
token): the recordings have none."""

RECORD_KEYS = (
    "case_id",
    "model",
    "response",
    "prompt",
    "messages",
    "expected",
    "category",
    "usage",
    "cost_usd",
    "latency_ms",
    "quality",
)
USAGE_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """What an import wrote and the responses to store."""

    suite: str
    suite_path: Path
    cases_path: Path
    goldens_path: Path
    recorded_path: Path
    baseline: str
    cases: int
    models: Mapping[str, int]
    """Responses imported per model."""
    responses: tuple[tuple[Request, Response], ...]
    """Response-store entries, one per distinct request hash (first recording wins)."""
    dropped: int = 0
    """Rows dropped as contaminated (RouteLLM imports)."""
    rows: int = 0
    """Rows (lines) read."""
    notes: tuple[str, ...] = field(default_factory=tuple)


def _check_suite_name(suite: str) -> None:
    if not isinstance(suite, str) or not suite or any(c in suite for c in "/\\: []"):
        raise SuiteError(
            f"suite name must be a simple name (no '/', ':' or spaces), got {suite!r}."
        )


def _number(value: Any, key: str, where: str, *, high: float | None = None) -> float:
    if isinstance(value, bool) and key == "quality":
        return 1.0 if value else 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SuiteError(f"{where}: {key!r} must be a number, got {value!r}.")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite:
        raise SuiteError(f"{where}: {key!r} must be a finite number, got {value!r}.")
    if value < 0 or (high is not None and value > high):
        bounds = f"between 0 and {high:g}" if high is not None else ">= 0"
        raise SuiteError(f"{where}: {key!r} must be {bounds}, got {value!r}.")
    return float(value)


def _usage(value: Any, where: str) -> Usage:
    if value is None:
        return Usage()
    if not isinstance(value, Mapping):
        raise SuiteError(f"{where}: 'usage' must be an object like {{input_tokens: 12}}.")
    counts: dict[str, int] = {}
    for key, count in value.items():
        if key not in USAGE_KEYS:
            raise SuiteError(
                f"{where}: unknown usage key {key!r}. Valid keys: {', '.join(USAGE_KEYS)}."
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise SuiteError(f"{where}: usage {key!r} must be a whole number >= 0, got {count!r}.")
        counts[key] = count
    return Usage(**counts)


def _case_row(record: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The suite case row (``id, prompt, system, history, expected, category``) of a record."""
    case_id = record.get("case_id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id.strip():
        raise SuiteError(f"{where}: 'case_id' must be a non-empty string, got {case_id!r}.")
    row: dict[str, Any] = {"id": case_id}
    has_prompt, has_messages = "prompt" in record, "messages" in record
    if has_prompt == has_messages:
        raise SuiteError(
            f"{where} (case {case_id!r}): give exactly one of 'prompt' (the question) or "
            "'messages' (the conversation, ending with the user's turn)."
        )
    if has_prompt:
        row["prompt"] = record["prompt"]
    else:
        messages = record["messages"]
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, Mapping) for m in messages)
        ):
            raise SuiteError(
                f"{where} (case {case_id!r}): 'messages' must be a non-empty list of "
                "{role, content} objects."
            )
        last = messages[-1]
        if last.get("role") != "user":
            raise SuiteError(
                f"{where} (case {case_id!r}): the last message must be the user's question, "
                f"got role {last.get('role')!r}."
            )
        first = 0
        if messages[0].get("role") == "system" and len(messages) > 1:
            row["system"] = messages[0].get("content")
            first = 1
        history = [{"role": m.get("role"), "content": m.get("content")} for m in messages[first:-1]]
        if history:
            row["history"] = history
        row["prompt"] = last.get("content")
    for key in ("expected", "category"):
        if record.get(key) is not None:
            row[key] = record[key]
    return row


def _same_question(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("prompt", "system", "history")
    return all(a.get(k) == b.get(k) for k in keys)


class _Importer:
    """Turns records (one response each) into a suite, goldens, labels and store entries."""

    def __init__(
        self,
        *,
        suite: str,
        baseline: str,
        out_dir: Path,
        params: Mapping[str, Any] | None,
        source: str = "the recordings",
        on_response: ResponseSink | None = None,
    ) -> None:
        _check_suite_name(suite)
        self.source = source
        """The input, as error messages name it (its file names)."""
        if not isinstance(baseline, str) or ":" not in baseline:
            raise SuiteError(
                f"baseline must be a model spec like 'openai:gpt-4o', got {baseline!r}."
            )
        self.suite_name = suite
        self.baseline = baseline
        self.out_dir = out_dir
        self.params = dict(params or {})
        suites_dir = out_dir / "suites"
        self.suite_path = suites_dir / f"{suite}.yaml"
        self.cases_path = suites_dir / f"{suite}.jsonl"
        self.goldens_path = goldens_path(out_dir / "goldens", suite, baseline)
        self.recorded_path = out_dir / SIDECAR_DIR / f"{suite}.jsonl"
        # Only `params` of the suite changes a request: the same code path as a run.
        self.suite = Suite(
            name=suite,
            path=self.suite_path,
            version=1,
            description="",
            scorer="exact",
            reference="golden",
            params=tuple(sorted(self.params.items())),
            cases=(),
        )
        self.rows: dict[str, dict[str, Any]] = {}
        self.row_where: dict[str, str] = {}
        self.cases: dict[str, Case] = {}
        self.model_names: dict[str, str] = {}
        self.seen: dict[tuple[str, str], int] = {}
        """(case id, model) -> the record that gave it (its ordinal): duplicates are refused."""
        self.goldens: dict[str, Golden] = {}
        self.responses: dict[str, tuple[Request, Response]] = {}
        self.on_response = on_response
        """Streaming: each new response goes here at once and is not kept (nor are goldens)."""
        self.response_keys: set[bytes] = set()
        """Request hashes already streamed (16 bytes each, not 32 hex digits)."""
        self.golden_cases: set[str] = set()
        self.golden_file = AtomicFile(self.goldens_path) if on_response else None
        self.models: dict[str, int] = {}
        self.all_quality = True
        self.lines = 0
        self.recorded_at = now_iso()
        self.sidecar = AtomicFile(self.recorded_path)

    def add(self, record: Any, where: str) -> None:
        """One response (a parsed line)."""
        self.lines += 1
        if not isinstance(record, Mapping):
            raise SuiteError(f"{where}: each line must be a JSON object, got {record!r}.")
        for key in record:
            if key not in RECORD_KEYS:
                raise SuiteError(
                    f"{where}: unknown key {key!r}. Valid keys: {', '.join(RECORD_KEYS)}."
                )
        for key in ("model", "response"):
            if key not in record:
                raise SuiteError(f"{where}: {key!r} is required.")
        model = record["model"]
        if not isinstance(model, str) or ":" not in model or model.startswith("replay:"):
            raise SuiteError(
                f"{where}: 'model' must be the spec of the model that answered, like "
                f"'openai:gpt-4o', got {model!r}."
            )
        text = record["response"]
        if not isinstance(text, str):
            raise SuiteError(f"{where}: 'response' must be text, got {text!r}.")
        row = _case_row(record, where)
        case = self._case(row["id"], row, where)
        # The (case, model) pairs kept for every line share one string per case and model.
        case_id = case.id
        model = self.model_names.setdefault(model, model)
        if (case_id, model) in self.seen:
            raise SuiteError(
                f"{where}: case {case_id!r} already has a response of {model!r} "
                f"(record {self.seen[case_id, model]} of the input); give one line per case "
                "and model."
            )
        self.seen[case_id, model] = self.lines
        usage = _usage(record.get("usage"), where)
        latency = (
            _number(record["latency_ms"], "latency_ms", where)
            if record.get("latency_ms") is not None
            else 0.0
        )
        cost = (
            _number(record["cost_usd"], "cost_usd", where)
            if record.get("cost_usd") is not None
            else None
        )
        quality = (
            _number(record["quality"], "quality", where, high=1.0)
            if record.get("quality") is not None
            else None
        )
        self.all_quality = self.all_quality and quality is not None
        request = self.suite.request(case, model)
        key = request.hash()
        response = Response(text=text, model=model, usage=usage, latency_ms=latency)
        if self.on_response is None:
            self.responses.setdefault(key, (request, response))
        elif (digest := bytes.fromhex(key)) not in self.response_keys:
            self.response_keys.add(digest)
            self.on_response(request, response)
        self.models[model] = self.models.get(model, 0) + 1
        if model == self.baseline:
            golden = Golden(
                case_id=case_id,
                model=model,
                request_hash=key,
                text=text,
                usage=usage,
                latency_ms=latency,
                recorded_at=self.recorded_at,
            )
            self.golden_cases.add(case_id)
            if self.golden_file is not None:
                self.golden_file.write_json_line(golden_row(golden))  # in arrival order
            else:
                self.goldens[case_id] = golden
        self.sidecar.write_json_line(
            sidecar_row(
                RecordedLabel(
                    case_id=case_id,
                    model=model,
                    request_hash=key,
                    quality=quality,
                    cost_usd=cost,
                    latency_ms=latency,
                    usage=usage,
                    category=case.category,
                )
            )
        )

    def _case(self, case_id: str, row: dict[str, Any], where: str) -> Case:
        known = self.rows.get(case_id)
        if known is None:
            case = parse_case(row, suite=self.suite_name, default_system=None, where=where)
            self.rows[case_id] = row
            self.row_where[case_id] = where
            self.cases[case_id] = case
            return case
        if not _same_question(known, row):
            raise SuiteError(
                f"{where}: case {case_id!r} asks a different question than on "
                f"{self.row_where[case_id]}; every line of a case must carry the same "
                "prompt or messages."
            )
        for key in ("expected", "category"):
            if key in row and key in known and row[key] != known[key]:
                raise SuiteError(
                    f"{where}: case {case_id!r} has {key} {row[key]!r}, but "
                    f"{self.row_where[case_id]} gave {known[key]!r}."
                )
        if "category" in row and "category" not in known:
            raise SuiteError(
                f"{where}: case {case_id!r} has a category but its first line "
                f"({self.row_where[case_id]}) has none; give the category on the first line "
                "of each case (or on every line)."
            )
        if "expected" in row and "expected" not in known:
            known["expected"] = row["expected"]
            self.cases[case_id] = parse_case(
                known, suite=self.suite_name, default_system=None, where=where
            )
        return self.cases[case_id]

    def finish(
        self,
        *,
        description: str,
        scorer: str | Mapping[str, Any] | None,
        reference: str | None = None,
        dropped: int = 0,
        notes: tuple[str, ...] = (),
    ) -> ImportResult:
        """Write the suite, its cases and goldens; commit the labels."""
        if not self.rows:
            raise SuiteError(f"{self.source}: nothing to import: no records were read.")
        missing = [c for c in self.rows if c not in self.golden_cases]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise SuiteError(
                f"{self.source}: the baseline {self.baseline!r} has no response for case(s) "
                f"{shown}{more}; "
                "every case needs the baseline's answer (its golden). Import its responses too, "
                f"or choose another baseline (models seen: {', '.join(self.models)})."
            )
        rows = list(self.rows.values())
        if reference is None:
            reference = "expected" if all("expected" in r for r in rows) else "golden"
        suite_doc: dict[str, Any] = {
            "suite": self.suite_name,
            "version": 1,
            "description": description,
            "scorer": scorer
            if scorer is not None
            else ("recorded" if self.all_quality else "exact"),
            "reference": reference,
        }
        if self.params:
            suite_doc["params"] = self.params
        suite_doc["cases_file"] = self.cases_path.name
        cases_file = AtomicFile(self.cases_path)
        try:
            for row in rows:
                cases_file.write_json_line(row)
        except BaseException:
            cases_file.abort()
            raise
        cases_file.commit()
        self.suite_path.write_text(
            yaml.safe_dump(suite_doc, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        if self.golden_file is not None:
            self.golden_file.commit()
        else:
            write_goldens(self.goldens_path, (self.goldens[c] for c in self.rows))
        self.sidecar.commit()
        return ImportResult(
            suite=self.suite_name,
            suite_path=self.suite_path,
            cases_path=self.cases_path,
            goldens_path=self.goldens_path,
            recorded_path=self.recorded_path,
            baseline=self.baseline,
            cases=len(self.rows),
            models=dict(self.models),
            responses=tuple(self.responses.values()),
            dropped=dropped,
            rows=self.lines,
            notes=notes,
        )


def _jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    return read_jsonl(path)


def import_recordings(
    paths: Iterable[Path],
    *,
    suite: str,
    baseline: str,
    out_dir: Path,
    params: Mapping[str, Any] | None = None,
    scorer: str | Mapping[str, Any] | None = None,
    description: str = "",
    on_response: ResponseSink | None = None,
) -> ImportResult:
    """Import JSONL recordings (see the module docs) as a suite with goldens.

    Args:
        paths: JSONL files, one response per line; read in order, streamed.
        suite: Name of the suite to write.
        baseline: The model whose responses become the goldens; every case needs one.
        out_dir: Project folder: writes ``suites/``, ``goldens/`` and ``recorded/`` below it.
        params: Sampling parameters the recordings were made with (they are part of
            the request hash); written as the suite's ``params``.
        scorer: The suite's scorer; default ``recorded`` when every line has a
            ``quality``, else ``exact``.
        description: The suite's description.
        on_response: Stream the response-store entries: called once per distinct
            request hash as the lines are read, and nothing is kept (the result's
            ``responses`` is empty, goldens are written in the order they arrive).
            Memory then grows with the distinct cases (their prompts), not with
            the responses: what a multi-gigabyte file needs. If the import fails
            later, the entries already passed on stay with the caller (harmless
            in a response store keyed by request hash).

    Raises:
        SuiteError: a line is not valid (the message names the file and line), a
            case's lines disagree, a (case, model) pair repeats, or the baseline
            lacks a case.
    """
    files = [Path(p) for p in paths]
    importer = _Importer(
        suite=suite,
        baseline=baseline,
        out_dir=out_dir,
        params=params,
        source=", ".join(display_path(p) for p in files) or "no recordings files",
        on_response=on_response,
    )
    try:
        for path in files:
            for where, record in _jsonl(path):
                importer.add(record, where)
        return importer.finish(
            description=description
            or f"Imported from {', '.join(p.name for p in files)} ({now_iso()}).",
            scorer=scorer,
        )
    finally:
        # An error before finish() committed them: no temporary file stays behind.
        importer.sidecar.abort()
        if importer.golden_file is not None:
            importer.golden_file.abort()


def read_contaminated(path: Path) -> set[str]:
    """The ``eval_prompt`` of every line of a RouteLLM ``contaminated_prompts.jsonl``."""
    prompts: set[str] = set()
    for where, row in _jsonl(path):
        if not isinstance(row, Mapping) or not isinstance(row.get("eval_prompt"), str):
            raise SuiteError(f"{where}: expected an object with 'eval_prompt' (text).")
        prompts.add(row["eval_prompt"])
    return prompts


def _gsm8k_answers(path: Path) -> dict[str, str]:
    answers: dict[str, str] = {}
    for where, row in _jsonl(path):
        answer = row.get("answer") if isinstance(row, Mapping) else None
        if not isinstance(answer, str) or "####" not in answer:
            raise SuiteError(f"{where}: expected {{question, answer}} with '#### <answer>'.")
        answers[str(row.get("question"))] = answer.rsplit("####", 1)[1].strip()
    return answers


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def import_routellm(
    csv_path: Path,
    *,
    suite: str,
    out_dir: Path,
    benchmark: Literal["gsm8k", "mmlu"] = "gsm8k",
    contaminated: Path | None = None,
    gsm8k_answers: Path | None = None,
    scorer: str | Mapping[str, Any] | None = "recorded",
    prices: Mapping[str, tuple[float, float]] = ROUTELLM_PRICES,
) -> ImportResult:
    """Import RouteLLM's recorded evaluation (lm-sys/RouteLLM ``routellm/evals``).

    Rows whose ``prompt`` is listed in ``contaminated`` (``eval_prompt``) are
    dropped, as RouteLLM does. Each row becomes a case with two responses:
    :data:`ROUTELLM_STRONG` (the baseline) and :data:`ROUTELLM_WEAK`, each
    with ``quality`` = RouteLLM's correctness boolean.

    - ``gsm8k``: columns ``prompt``, the two correctness columns and
      ``<model>_response``; case ids ``gsm8k-0000`` ... (the row number, which
      is the question's index in GSM8K's ``test.jsonl``). ``gsm8k_answers``
      (that ``test.jsonl``) adds each case's ``expected`` answer.
    - ``mmlu``: columns ``domain``, ``prompt`` and the correctness columns, no
      answer text: the response text is a placeholder (``[RouteLLM recorded no
      text: correct]``). Case ids ``mmlu-<domain>-000``; category = domain.
      Some prompts repeat across rows (same request hash): the store keeps the
      first response, the labels keep every case's own.

    Usage is estimated at 4 characters a token (1 output token for MMLU) and
    ``cost_usd`` priced with ``prices`` (USD per 1M input, output tokens).

    Raises:
        SuiteError: a missing column, an unreadable file, a correctness value
            that is not True/False (naming the file and line).
    """
    if benchmark not in ("gsm8k", "mmlu"):
        raise SuiteError(f"benchmark must be 'gsm8k' or 'mmlu', got {benchmark!r}.")
    banned = read_contaminated(contaminated) if contaminated is not None else set()
    answers = _gsm8k_answers(gsm8k_answers) if gsm8k_answers is not None else None
    shown = display_path(csv_path)
    required = ["prompt", *ROUTELLM_COLUMNS.values()]
    if benchmark == "gsm8k":
        required += [f"{column}_response" for column in ROUTELLM_COLUMNS.values()]
    else:
        required.append("domain")
    importer = _Importer(
        suite=suite, baseline=ROUTELLM_STRONG, out_dir=out_dir, params=None, source=shown
    )
    dropped = 0
    per_domain: dict[str, int] = {}
    try:
        try:
            handle = csv_path.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise SuiteError(f"{shown}: cannot read the file: {exc.strerror}.") from None
        with handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise SuiteError(
                    f"{shown}: not a RouteLLM {benchmark} file: missing column(s) "
                    f"{', '.join(repr(c) for c in missing)}."
                )
            for index, row in enumerate(reader):
                # The header is line 1; quoted answers span lines, so name the record.
                where = f"{shown}: record {index + 1} (line {reader.line_num})"
                prompt = row["prompt"]
                if benchmark == "mmlu":
                    domain = row["domain"]
                    number = per_domain.get(domain, 0)
                    per_domain[domain] = number + 1
                    case_id, category = f"mmlu-{domain}-{number:03d}", domain
                else:
                    case_id, category = f"gsm8k-{index:04d}", None
                if prompt in banned:
                    dropped += 1
                    continue
                for model, column in ROUTELLM_COLUMNS.items():
                    value = row[column]
                    if value not in ("True", "False"):
                        raise SuiteError(
                            f"{where}: column {column!r} must be True or False, got {value!r}."
                        )
                    correct = value == "True"
                    if benchmark == "gsm8k":
                        text = row[f"{column}_response"]
                        output_tokens = _tokens(text)
                    else:
                        verdict = "correct" if correct else "incorrect"
                        text = f"[RouteLLM recorded no text: {verdict}]"
                        output_tokens = 1
                    input_tokens = _tokens(prompt)
                    price_in, price_out = prices[model]
                    record: dict[str, Any] = {
                        "case_id": case_id,
                        "model": model,
                        "prompt": prompt,
                        "response": text,
                        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                        "cost_usd": (input_tokens * price_in + output_tokens * price_out) / 1e6,
                        "quality": 1.0 if correct else 0.0,
                    }
                    if category is not None:
                        record["category"] = category
                    if answers is not None and prompt in answers:
                        record["expected"] = answers[prompt]
                    importer.add(record, where)
        source = "lm-sys/RouteLLM"
        kept = importer.lines // 2
        description = (
            f"RouteLLM {benchmark.upper()} recordings ({source}): gpt-4-1106-preview and "
            f"Mixtral-8x7B-Instruct-v0.1 at temperature 0, {kept} cases"
            + (f" after dropping {dropped} contaminated prompts." if contaminated else ".")
        )
        notes = (
            "usage is estimated at 4 characters a token; cost_usd uses "
            + ", ".join(f"{m} ${i:g}/${o:g} per 1M tokens" for m, (i, o) in prices.items()),
        )
        return importer.finish(
            description=description,
            scorer=scorer,
            reference="expected" if answers is not None else "golden",
            dropped=dropped,
            notes=notes,
        )
    finally:
        importer.sidecar.abort()
