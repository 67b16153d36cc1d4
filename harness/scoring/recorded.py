"""The ``recorded`` scorer: quality labels recorded with the responses, not computed from text.

Imported recordings (``harness.importers.recordings``) can carry a quality label per case
and model: RouteLLM's correctness booleans, a human grade, a judge's score from
when the response was produced. Those labels live in a sidecar file beside the
suites, ``<suites_dir>/../recorded/<suite>.jsonl``, one JSON object per line::

    {"schema_version": 1, "case_id": "gsm8k-0001", "model": "routellm:gpt-4-1106-preview",
     "request_hash": "…", "quality": 1.0, "cost_usd": 0.0042, "latency_ms": 0.0,
     "usage": {"input_tokens": 31, "output_tokens": 120}, "category": "default"}

A label the import could not use (a judge's -1 on a 1-10 scale) has ``"quality":
null`` and an ``"error"`` saying why: scoring that case and model raises it, so
the case is an error row with the reason.

A text-only scorer sees ``score(output, reference)``, which cannot tell which
case and model produced the output; so this scorer scores a *(case, model)*
pair instead: :meth:`RecordedScorer.score_case`. Its ``score(output, reference)``
raises a :class:`~harness.errors.CostEvalError` saying so.

The pipeline uses it like this::

    scorer = build_scorer(suite.scorer, where=...)
    if isinstance(scorer, RecordedScorer):
        scorer.bind(RecordedQuality.load(scorer.sidecar_path(suites_dir, suite.name)))
        baseline = scorer.score_case(case.id, golden.model).value
        score = scorer.score_case(case.id, response.model).value   # no error
        # "replay:" prefixes of response.model are stripped by the lookup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.suites import display_path
from harness.errors import ConfigError, CostEvalError, GoldenError
from harness.providers import base_model
from harness.scoring.base import scorers
from harness.scoring.exact import checked_options, invalid_option_error
from harness.types import Score, Usage

__all__ = [
    "ImportedModels",
    "RecordedLabel",
    "RecordedQuality",
    "RecordedScorer",
    "base_model",
    "labels_by_case",
    "sidecar_row",
]

SIDECAR_DIR = "recorded"
"""Folder of the sidecar files, beside the suites folder."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedLabel:
    """What was recorded with one response besides its text."""

    case_id: str
    model: str
    request_hash: str = ""
    quality: float | None = None
    """Quality in [0, 1], or None when the recording had no label (or an unusable one)."""
    cost_usd: float | None = None
    """What the call cost, when the recording says."""
    latency_ms: float | None = None
    usage: Usage = field(default_factory=Usage)
    category: str = "default"
    error: str | None = None
    """Why the recorded label cannot be used (a score outside the import's scale):
    the case is an error row for this model, with this reason."""


def sidecar_row(label: RecordedLabel) -> dict[str, Any]:
    """The JSON object stored for a label."""
    usage = label.usage.as_dict(skip_zero=True)
    row: dict[str, Any] = {
        "schema_version": 1,
        "case_id": label.case_id,
        "model": label.model,
        "request_hash": label.request_hash,
        "quality": label.quality,
        "cost_usd": label.cost_usd,
        "latency_ms": label.latency_ms,
        "usage": usage,
        "category": label.category,
    }
    if label.error is not None:
        row["error"] = label.error
    return row


class RecordedQuality:
    """Recorded labels by (case id, model), in the order they were recorded."""

    def __init__(self, labels: Sequence[RecordedLabel], *, source: str = "") -> None:
        self.source = source
        self._labels: dict[tuple[str, str], RecordedLabel] = {}
        for label in labels:
            self._labels[(label.case_id, label.model)] = label

    @classmethod
    def load(cls, path: Path) -> RecordedQuality:
        """Read a sidecar file (streamed, line by line).

        Raises:
            GoldenError: the file is missing, or a line is not a valid label
                (the message names the file and line).
        """
        if not path.is_file():
            raise GoldenError(
                f"{path}: no recorded quality labels. The 'recorded' scorer reads the labels "
                "written by `harness import`; import the recordings again or give the "
                "scorer's 'path'."
            )
        return cls(list(_read_sidecar(path)), source=display_path(path))

    @staticmethod
    def default_path(suites_dir: Path, suite: str) -> Path:
        """Where importers write a suite's labels: ``<suites_dir>/../recorded/<suite>.jsonl``."""
        return suites_dir.parent / SIDECAR_DIR / f"{suite}.jsonl"

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self) -> Iterator[RecordedLabel]:
        return iter(self._labels.values())

    def record(self, case_id: str, model: str) -> RecordedLabel | None:
        """The label recorded for ``case_id`` answered by ``model`` (``replay:`` stripped)."""
        return self._labels.get((case_id, base_model(model)))

    def lookup(self, case_id: str, model: str) -> float | None:
        """The recorded quality of ``model``'s answer to ``case_id``, or None."""
        label = self.record(case_id, model)
        return None if label is None else label.quality

    def models(self) -> tuple[str, ...]:
        """Every model with a label, in order of first appearance."""
        return tuple(dict.fromkeys(model for _, model in self._labels))

    def case_ids(self, model: str | None = None) -> tuple[str, ...]:
        """Case ids in recorded order (those ``model`` answered, when given)."""
        return tuple(
            dict.fromkeys(c for c, m in self._labels if model is None or m == base_model(model))
        )


def _read_sidecar(path: Path) -> Iterator[RecordedLabel]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                quality = row.get("quality")
                cost = row.get("cost_usd")
                latency = row.get("latency_ms")
                label = RecordedLabel(
                    case_id=str(row["case_id"]),
                    model=str(row["model"]),
                    request_hash=str(row.get("request_hash", "")),
                    quality=None if quality is None else float(quality),
                    cost_usd=None if cost is None else float(cost),
                    latency_ms=None if latency is None else float(latency),
                    usage=Usage(**{k: int(v) for k, v in (row.get("usage") or {}).items()}),
                    category=str(row.get("category") or "default"),
                    error=None if row.get("error") is None else str(row["error"]),
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise GoldenError(
                    f"{path}: line {number} is not a valid recorded label "
                    f"({type(exc).__name__}: {exc}). Re-import the recordings."
                ) from None
            if label.quality is not None and not 0.0 <= label.quality <= 1.0:
                raise GoldenError(
                    f"{path}: line {number}: quality {label.quality!r} is outside [0, 1]."
                )
            yield label


class ImportedModels:
    """Which models' answers were imported, and from where: read from the labels files.

    Every import writes a labels file (``recorded/<suite>.jsonl``) naming each
    model it imported. A replayed answer that is missing asks this, so the
    message can say the answers come from a recording (of an external router
    the harness may have no way to call) instead of telling the user to call
    the model. The files are read on the first question only, and a line that
    cannot be read is skipped: this only shapes a message.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._sources: dict[str, str] | None = None

    def source(self, model: str) -> str | None:
        """The labels file that imported ``model``'s answers (``replay:`` looked through)."""
        if self._sources is None:
            self._sources = {}
            for path in self.paths:
                for name in _models_in(path):
                    self._sources.setdefault(name, display_path(path))
        return self._sources.get(base_model(model))


def _models_in(path: Path) -> set[str]:
    models: set[str] = set()
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    model = json.loads(line).get("model")
                except (json.JSONDecodeError, AttributeError):
                    continue
                if isinstance(model, str):
                    models.add(model)
    except OSError:  # no labels file: nothing imported for that suite
        pass
    return models


@checked_options
class RecordedScorer:
    """The quality recorded with each response (see the module docs).

    Args:
        path: The sidecar file, when not at the default place
            (``<suites_dir>/../recorded/<suite>.jsonl``); relative to the project root.
        extract: Not applicable (the labels are not read from the text); giving
            one is an error that says so.
    """

    name: str = "recorded"

    def __init__(self, *, path: str | None = None, extract: object = None) -> None:
        if extract is not None:
            raise ConfigError(
                f"scorer 'recorded' does not take 'extract' (got {extract!r}): it scores the "
                "quality label recorded with each answer, not the answer's text, so there is "
                "nothing to extract. Remove 'extract', or score the text instead, e.g. "
                "{name: exact, extract: last_number}."
            )
        if path is not None and (not isinstance(path, str) or not path):
            raise invalid_option_error(self.name, "path", path, "a file path")
        self.path = path
        self.store: RecordedQuality | None = None

    def sidecar_path(self, suites_dir: Path, suite: str, root: Path | None = None) -> Path:
        """The sidecar to load for ``suite``: the ``path`` option, or the default place."""
        if self.path is None:
            return RecordedQuality.default_path(suites_dir, suite)
        given = Path(self.path)
        return given if given.is_absolute() else (root or suites_dir.parent) / given

    def bind(self, store: RecordedQuality) -> RecordedScorer:
        """Use ``store`` for lookups; returns the scorer."""
        self.store = store
        return self

    def score(self, output: str, reference: str) -> Score:
        """Always raises: a recorded label belongs to a (case, model), not to a text."""
        raise CostEvalError(
            "the 'recorded' scorer reads the quality recorded with each response, so it needs "
            "the case and the model, not only the text: call score_case(case_id, model) after "
            "bind(RecordedQuality.load(...)). Use another scorer (exact, numeric, ...) to score "
            "text."
        )

    def score_case(self, case_id: str, model: str) -> Score:
        """The recorded quality of ``model``'s answer to ``case_id``.

        Raises:
            CostEvalError: no store was bound.
            GoldenError: nothing recorded for that case and model, or a label
                the import could not use (its ``error`` says why).
        """
        if self.store is None:
            raise CostEvalError(
                "the 'recorded' scorer has no labels loaded: bind(RecordedQuality.load(path)) "
                "before scoring."
            )
        label = self.store.record(case_id, model)
        where = self.store.source or "the recorded labels"
        if label is not None and label.error is not None:
            raise GoldenError(
                f"{where}: case {case_id!r} answered by {base_model(model)!r}: {label.error}."
            )
        if label is None or label.quality is None:
            raise GoldenError(
                f"{where}: no recorded quality for case {case_id!r} answered by "
                f"{base_model(model)!r}. The 'recorded' scorer can only score models whose "
                "answers were imported with a quality label."
            )
        return Score(value=label.quality, rationale=f"recorded quality of {base_model(model)}")


@scorers.register("recorded")
def recorded() -> type[RecordedScorer]:
    """Factory of the ``recorded`` scorer."""
    return RecordedScorer


def labels_by_case(store: RecordedQuality, model: str) -> Mapping[str, float | None]:
    """``{case_id: quality}`` of one model, in recorded order."""
    return {c: store.lookup(c, model) for c in store.case_ids(model)}
