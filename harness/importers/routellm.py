"""Import RouteLLM's published evaluation (GSM8K, MMLU) as a suite with goldens and labels.

:func:`import_routellm` reads the CSVs of lm-sys/RouteLLM ``routellm/evals``
(GSM8K with both models' answers, MMLU with correctness only), drops the
contaminated prompts (:func:`read_contaminated`), optionally adds GSM8K's
reference answers, and writes the result through
:class:`~harness.importers.recordings.RecordImporter`, like a JSONL import.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from harness.config.suites import display_path, read_jsonl
from harness.errors import SuiteError
from harness.importers.recordings import ImportResult, RecordImporter

__all__ = [
    "ROUTELLM_COLUMNS",
    "ROUTELLM_PRICES",
    "ROUTELLM_STRONG",
    "ROUTELLM_WEAK",
    "import_routellm",
    "read_contaminated",
]

ROUTELLM_STRONG = "routellm:gpt-4-1106-preview"
"""RouteLLM's strong model, as a model spec (``replay:`` it to run offline)."""
ROUTELLM_WEAK = "routellm:mixtral-8x7b-instruct-v0.1"
"""RouteLLM's weak model (``mistralai/Mixtral-8x7B-Instruct-v0.1``)."""
ROUTELLM_COLUMNS = {
    ROUTELLM_STRONG: "gpt-4-1106-preview",
    ROUTELLM_WEAK: "mistralai/Mixtral-8x7B-Instruct-v0.1",
}
"""The CSV correctness column of each model; its answers are in ``<column>_response``."""
ROUTELLM_PRICES = {ROUTELLM_STRONG: (10.0, 30.0), ROUTELLM_WEAK: (0.6, 0.6)}
"""USD per 1M (input, output) tokens: GPT-4 Turbo's list price, Mixtral-8x7B at
Together AI. Token counts of RouteLLM rows are estimated (4 characters a
token): the recordings have none."""


def read_contaminated(path: Path) -> set[str]:
    """The ``eval_prompt`` of every line of a RouteLLM ``contaminated_prompts.jsonl``."""
    prompts: set[str] = set()
    for where, row in read_jsonl(path):
        if not isinstance(row, Mapping) or not isinstance(row.get("eval_prompt"), str):
            raise SuiteError(f"{where}: expected an object with 'eval_prompt' (text).")
        prompts.add(row["eval_prompt"])
    return prompts


def _gsm8k_answers(path: Path) -> dict[str, str]:
    answers: dict[str, str] = {}
    for where, row in read_jsonl(path):
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
    # RouteLLM recorded no bills: its costs here are our estimate (4 characters a token at
    # published prices), kept in the labels for sweeps but never shown as "recorded cost".
    importer = RecordImporter(
        suite=suite,
        baseline=ROUTELLM_STRONG,
        out_dir=out_dir,
        params=None,
        source=shown,
        billed=False,
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
        importer.close()
