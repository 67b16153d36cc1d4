"""Import your own recorded LLM responses (JSONL) as a suite, goldens, store entries and labels.

:func:`import_recordings` reads your logs, one JSON object per line::

    {"case_id": "q-001", "model": "openai:gpt-4o", "prompt": "What is 2 + 2?",
     "response": "4", "expected": "4", "category": "math",
     "usage": {"input_tokens": 12, "output_tokens": 1}, "cost_usd": 0.00004,
     "latency_ms": 310, "quality": 1.0}

``messages`` (a list of ``{role, content}``, ending with the user's turn) may
replace ``prompt``; every line of a case (one per model) must carry the same
question. ``model`` may be a bare name as logs write it (``gpt-4o-2024-08-06``):
it is kept as written and replayed as ``replay:gpt-4o-2024-08-06``. ``quality``
is in [0, 1], or on the scale given as ``quality_scale`` (a judge's 1-10), where a
score outside the scale (-1: "could not parse") is recorded as that case's error.

:class:`RecordImporter` turns such records into files; it is shared with
:mod:`harness.importers.routellm`, which builds the same records from
RouteLLM's published CSVs. Both write, under ``out_dir``:

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
naming the file and line. All or nothing: the files are built in a hidden
folder under ``out_dir`` (:class:`~harness.files.StagedTree`) and appear only
when every line was read and checked; what an import must remember per case and
line is indexed on disk (:class:`~harness.importers.import_index.ImportIndex`),
so memory does not grow with the input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from harness.config.suites import (
    Suite,
    display_path,
    golden_row,
    goldens_path,
    now_iso,
    parse_case,
    read_jsonl,
    recorded_cost,
)
from harness.errors import SuiteError
from harness.files import StagedTree
from harness.importers.import_index import ImportIndex
from harness.importers.import_scorer import imported_scorer
from harness.importers.records import (
    RECORD_KEYS,
    QualityScale,
    case_row,
    record_model,
    record_number,
    record_quality,
    record_usage,
    same_question,
)
from harness.scoring.recorded import SIDECAR_DIR, RecordedLabel, sidecar_row
from harness.types import Case, Golden, Request, Response

__all__ = [
    "ImportResult",
    "RecordImporter",
    "ResponseSink",
    "import_recordings",
    "imported_scorer",
]

ResponseSink = Callable[[Request, Response], None]
"""Receives the response-store entries of a streaming import, one at a time."""


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


class RecordImporter:
    """Turns records (one response each) into a suite, goldens, labels and store entries.

    Every file is written into a :class:`~harness.files.StagedTree` under
    ``out_dir`` and appears only when the import succeeds; what the import must
    remember per case and per line lives in an :class:`ImportIndex` on disk, so
    memory stays the same whatever the size of the input. Call :meth:`close`
    when done (after :meth:`finish`, or after an error).
    """

    def __init__(
        self,
        *,
        suite: str,
        baseline: str,
        out_dir: Path,
        params: Mapping[str, Any] | None,
        source: str = "the recordings",
        on_response: ResponseSink | None = None,
        quality_scale: QualityScale | None = None,
        billed: bool = True,
        tree: StagedTree | None = None,
    ) -> None:
        _check_suite_name(suite)
        self.billed = billed
        """Whether a record's ``cost_usd`` is what the provider billed (it then travels with
        the answer and a run uses it before any price). False for costs the importer derived
        itself (RouteLLM's, from estimated tokens): they stay in the labels only."""
        self.source = source
        """The input, as error messages name it (its file names)."""
        if not isinstance(baseline, str) or not baseline.strip() or baseline.startswith("replay:"):
            raise SuiteError(
                "baseline must name the model whose answers become the goldens, as the "
                f"recordings name it (like 'gpt-4o-2024-08-06' or 'openai:gpt-4o'), got "
                f"{baseline!r}."
            )
        self.quality_scale = quality_scale
        """The scale of the recorded ``quality`` (None: [0, 1])."""
        self.unscored: dict[str, int] = {}
        """Per model: answers whose recorded quality was outside ``quality_scale``."""
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
        self.model_names: dict[str, str] = {}
        self.responses: dict[str, tuple[Request, Response]] = {}
        self.on_response = on_response
        """Streaming: each new response goes here at once and is not kept."""
        self.models: dict[str, int] = {}
        self.all_quality = True
        self.lines = 0
        self.recorded_at = now_iso()
        self.own_tree = tree is None
        """Whether :meth:`finish` publishes the files (else the caller does, with its store)."""
        self.tree = StagedTree(out_dir) if tree is None else tree
        try:
            self.index = ImportIndex(self.tree.scratch(f"{suite}.index.sqlite3"))
            self.golden_file = self._staged(self.goldens_path)
            self.sidecar = self._staged(self.recorded_path)
        except BaseException:
            self.close()
            raise
        self.finished = False

    def _staged(self, path: Path) -> TextIO:
        return self.tree.file(path.relative_to(self.out_dir)).open(
            "w", encoding="utf-8", newline="\n"
        )

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
        model = record_model(record["model"], where)
        text = record["response"]
        if not isinstance(text, str):
            raise SuiteError(f"{where}: 'response' must be text, got {text!r}.")
        row = case_row(record, where)
        case = self._case(row["id"], row, where)
        case_id = case.id
        model = self.model_names.setdefault(model, model)
        earlier = self.index.pair(case_id, model, self.lines)
        if earlier is not None:
            raise SuiteError(
                f"{where}: case {case_id!r} already has a response of {model!r} "
                f"(record {earlier} of the input); give one line per case and model."
            )
        usage = record_usage(record.get("usage"), where)
        latency = (
            record_number(record["latency_ms"], "latency_ms", where)
            if record.get("latency_ms") is not None
            else 0.0
        )
        cost = (
            record_number(record["cost_usd"], "cost_usd", where)
            if record.get("cost_usd") is not None
            else None
        )
        quality, unscored = record_quality(record.get("quality"), where, self.quality_scale)
        if unscored is not None:
            self.unscored[model] = self.unscored.get(model, 0) + 1
        self.all_quality = self.all_quality and (quality is not None or unscored is not None)
        request = self.suite.request(case, model)
        key = request.hash()
        # The cost as billed travels with the answer: a run uses it before any price.
        billed = recorded_cost(cost) if self.billed else None
        response = Response(
            text=text, model=model, usage=usage, latency_ms=latency, cost_usd=billed
        )
        if self.on_response is None:
            self.responses.setdefault(key, (request, response))
        elif self.index.first_hash(key):
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
                cost_usd=billed,
            )
            _write_line(self.golden_file, golden_row(golden))  # in arrival order
        _write_line(
            self.sidecar,
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
                    error=unscored,
                )
            ),
        )

    def _case(self, case_id: str, row: dict[str, Any], where: str) -> Case:
        known = self.index.known(case_id)
        if known is None:
            case = parse_case(row, suite=self.suite_name, default_system=None, where=where)
            self.index.add_case(case_id, row, where, case)
            return case
        first = known.row
        if not same_question(first, row):
            raise SuiteError(
                f"{where}: case {case_id!r} asks a different question than on "
                f"{known.at}; every line of a case must carry the same prompt or messages."
            )
        for key in ("expected", "category"):
            if key in row and key in first and row[key] != first[key]:
                raise SuiteError(
                    f"{where}: case {case_id!r} has {key} {row[key]!r}, but "
                    f"{known.at} gave {first[key]!r}."
                )
        if "category" in row and "category" not in first:
            raise SuiteError(
                f"{where}: case {case_id!r} has a category but its first line "
                f"({known.at}) has none; give the category on the first line "
                "of each case (or on every line)."
            )
        changed = "expected" in row and "expected" not in first
        if changed:
            first["expected"] = row["expected"]
            known.parsed = None
        if known.parsed is None:  # changed, or read back from the index
            known.parsed = parse_case(
                first, suite=self.suite_name, default_system=None, where=where
            )
        if changed:
            self.index.update_case(case_id, known)
        parsed: Case = known.parsed
        return parsed

    def finish(
        self,
        *,
        description: str,
        scorer: str | Mapping[str, Any] | None,
        reference: str | None = None,
        dropped: int = 0,
        notes: tuple[str, ...] = (),
    ) -> ImportResult:
        """Write the suite and its cases; publish every file unless the caller owns the tree.

        With a tree given to the constructor, the files stay staged: the caller
        stores the responses and then calls ``tree.publish()``.
        """
        if not self.index.cases:
            raise SuiteError(f"{self.source}: nothing to import: no records were read.")
        missing, count = self.index.unanswered(self.baseline, 5)
        if missing:
            shown = ", ".join(repr(c) for c in missing)
            more = f" and {count - len(missing)} more" if count > len(missing) else ""
            raise SuiteError(
                f"{self.source}: the baseline {self.baseline!r} has no response for case(s) "
                f"{shown}{more}; "
                "every case needs the baseline's answer (its golden). Import its responses too, "
                f"or choose another baseline (models seen: {', '.join(self.models)})."
            )
        if reference is None:
            reference = "expected" if self.index.all_expected() else "golden"
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
        with self._staged(self.cases_path) as cases_file:
            for row in self.index.rows():
                _write_line(cases_file, row)
        with self._staged(self.suite_path) as suite_file:
            suite_file.write(yaml.safe_dump(suite_doc, sort_keys=False, allow_unicode=True))
        # Flushed and closed now: a full disk fails here, before anything is published.
        self.golden_file.close()
        self.sidecar.close()
        if self.own_tree:
            self.tree.publish()
        self.finished = True
        if self.quality_scale is not None:
            notes += (f"recorded quality on the scale {self.quality_scale}, mapped into [0, 1]",)
        notes += tuple(
            f"{count} answer(s) of {model!r} have a recorded quality outside that scale: "
            "error rows when scored (the reason is in the labels file)"
            for model, count in self.unscored.items()
        )
        return ImportResult(
            suite=self.suite_name,
            suite_path=self.suite_path,
            cases_path=self.cases_path,
            goldens_path=self.goldens_path,
            recorded_path=self.recorded_path,
            baseline=self.baseline,
            cases=self.index.cases,
            models=dict(self.models),
            responses=tuple(self.responses.values()),
            dropped=dropped,
            rows=self.lines,
            notes=notes,
        )

    def close(self) -> None:
        """Close the files and the index; an own tree is deleted (discarded if unfinished)."""
        for handle in (getattr(self, "golden_file", None), getattr(self, "sidecar", None)):
            if handle is not None:
                handle.close()
        if hasattr(self, "index"):
            self.index.close()
        if self.own_tree:
            if getattr(self, "finished", False):
                self.tree.close()
            else:
                self.tree.discard()


def _write_line(handle: TextIO, row: Mapping[str, Any]) -> None:
    handle.write(json.dumps(row, ensure_ascii=False) + "\n")


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
    extract: str | None = None,
    quality_scale: QualityScale | None = None,
    tree: StagedTree | None = None,
) -> ImportResult:
    """Import JSONL recordings (see the module docs) as a suite with goldens.

    All or nothing: the files are built in a hidden folder under ``out_dir`` and
    moved into place only when every line was read and checked; after a failure
    ``out_dir`` is as it was (not even created, if it did not exist).

    Args:
        paths: JSONL files, one response per line; read in order, streamed.
        suite: Name of the suite to write.
        baseline: The model whose responses become the goldens; every case needs one.
        out_dir: Project folder: writes ``suites/``, ``goldens/`` and ``recorded/`` below it.
        params: Sampling parameters the recordings were made with (they are part of
            the request hash); written as the suite's ``params``.
        scorer: The suite's scorer (a name, a table, or a table as YAML text: see
            :func:`imported_scorer`); default ``recorded`` when every line has a
            ``quality``, else ``exact``.
        description: The suite's description.
        on_response: Stream the response-store entries: called once per distinct
            request hash as the lines are read, and nothing is kept (the result's
            ``responses`` is empty). Memory then stays the same whatever the size
            of the file (cases and pairs seen are indexed on disk): what a
            multi-gigabyte file needs. The entries of an import that fails later
            are the caller's to drop (``harness import`` stages them on disk and
            stores them only once the import succeeded).
        extract: The scorer's extractor (``last_number``, ``yes_no``, ...), applied
            to the answers and the references alike; with no ``scorer``, the
            suite scores with ``exact`` on what it extracts.
        quality_scale: The scale of the recorded ``quality`` (a judge's 1-10):
            mapped into [0, 1]; a score outside it makes that case an error row
            of that model, with the reason. None: qualities must be in [0, 1].
        tree: Stage the files here and leave them staged: the caller publishes
            them (``tree.publish()``) once it has stored the responses, and
            discards the tree if that fails. None: published before returning.

    Raises:
        SuiteError: a line is not valid (the message names the file and line), a
            case's lines disagree, a (case, model) pair repeats, or the baseline
            lacks a case.
        ConfigError: the scorer or the extractor is not valid (before any line is read).
    """
    scorer = imported_scorer(scorer, extract)
    files = [Path(p) for p in paths]
    importer = RecordImporter(
        suite=suite,
        baseline=baseline,
        out_dir=out_dir,
        params=params,
        source=", ".join(display_path(p) for p in files) or "no recordings files",
        on_response=on_response,
        quality_scale=quality_scale,
        tree=tree,
    )
    try:
        for path in files:
            for where, record in read_jsonl(path):
                importer.add(record, where)
        return importer.finish(
            description=description
            or f"Imported from {', '.join(p.name for p in files)} ({now_iso()}).",
            scorer=scorer,
        )
    finally:
        # After an error, nothing this import staged stays behind.
        importer.close()
