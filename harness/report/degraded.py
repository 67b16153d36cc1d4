"""The report's degraded cases, grouped by case: the question once, every configuration's answer.

A case that several configurations degraded used to appear once per
configuration, its question and reference repeated each time. Here each
degraded case appears once: its question (what came before it folded), its
reference, and the answers of the configurations that degraded it side by side.
Configurations that gave the very same answer share one column, so a text is
never shown twice.

Model text is untrusted: it reaches the page through Jinja's autoescaping, or
through :func:`diff_html`, which escapes every token before wrapping differing
ones in ``<del>``/``<ins>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from markupsafe import Markup, escape

from harness.formatting import money
from harness.report.cells import cut, fmt_points, fmt_quality
from harness.types import CaseResult

TEXT_LIMIT = 4000
"""Characters of one output, reference or question shown: keeps the page small whatever a
model says."""

OPEN_CASES = 10
"""Degraded cases shown open; the rest are folded to their one-line header (a click opens
one), so a run with many degraded cases still reads from top to bottom."""

_WORD = re.compile(r"(\S+)(\s*)")


# --- word diff --------------------------------------------------------------------


def _words(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Leading whitespace, then (word, whitespace after it) pairs: the text, losslessly."""
    body = text.lstrip()
    return text[: len(text) - len(body)], _WORD.findall(body)


def _join(words: Sequence[tuple[str, str]], tag: str | None) -> Markup:
    """Escape every token, then wrap the run in ``tag`` (the trailing space left outside)."""
    if not words:
        return Markup("")
    escaped = [escape(word) + escape(space) for word, space in words[:-1]]
    last_word, last_space = words[-1]
    escaped.append(escape(last_word))
    inner = Markup("").join(escaped)
    if tag is not None:
        inner = Markup(f"<{tag}>") + inner + Markup(f"</{tag}>")
    return inner + escape(last_space)


def diff_html(output: str, reference: str) -> tuple[Markup, Markup]:
    """Word-level diff of an output against its reference, as safe HTML.

    Returns the output with the words it added in ``<ins>`` and the reference
    with the words the output lacks in ``<del>``. Words compare exactly;
    whitespace is kept as it was but never counts as a difference. Every token
    is escaped before any tag is added, so the text cannot inject markup.
    """
    out_lead, out_words = _words(output)
    ref_lead, ref_words = _words(reference)
    # autojunk off: its popularity heuristic would treat common words in long
    # answers as junk and produce a patchy, misleading diff.
    matcher = SequenceMatcher(
        a=[w for w, _ in ref_words], b=[w for w, _ in out_words], autojunk=False
    )
    out_parts: list[Markup] = [escape(out_lead)]
    ref_parts: list[Markup] = [escape(ref_lead)]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        ref_parts.append(_join(ref_words[i1:i2], None if same else "del"))
        out_parts.append(_join(out_words[j1:j2], None if same else "ins"))
    return Markup("").join(out_parts), Markup("").join(ref_parts)


# --- views ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigScore:
    """How some configurations did on a degraded case: one line for those that got the
    same score from the same model at the same cost."""

    configs: tuple[tuple[str, int | None], ...]
    """(configuration, row of the pair in the verdict table for a link, or None)."""
    score: str
    delta: str
    cost: str
    model: str
    cache_hit: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerView:
    """One distinct answer to a degraded case, and the configurations that gave it."""

    output_html: Markup
    output_cut: int
    """Characters of the output not shown (0 when it is shown whole)."""
    scores: tuple[ConfigScore, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DegradedCase:
    """A case some configurations answered clearly worse than the baseline, shown once."""

    index: int
    """Position on the page: the anchor ``case-<index>``."""
    suite: str
    case_id: str
    category: str
    baseline_score: str
    expected: str | None
    """The expected answer when it differs from the reference (else None)."""
    prompt: str
    """The question asked, cut to :data:`TEXT_LIMIT` (empty for runs stored without it)."""
    prompt_cut: int
    prompt_context: str
    """System prompt, context documents and earlier turns, cut to :data:`TEXT_LIMIT`."""
    prompt_context_cut: int
    reference_html: Markup
    """The reference; its words missing from the answer in ``<del>`` when there is one answer."""
    reference_cut: int
    answers: tuple[AnswerView, ...]
    """Worst first."""
    worst: str = "—"
    """The largest drop among its configurations, in points."""
    open: bool = True
    """Shown open (the first :data:`OPEN_CASES`), else folded to its header."""

    @property
    def configs(self) -> tuple[str, ...]:
        """Every configuration that degraded this case."""
        return tuple(name for a in self.answers for line in a.scores for name, _ in line.configs)


@dataclass(frozen=True, slots=True, kw_only=True)
class DegradedIndexRow:
    """One line of the section's index: a configuration and the cases it degraded."""

    suite: str
    config: str
    pair_index: int
    flagged: int
    """Its flagged cases, shown or not."""
    cases: tuple[tuple[str, int], ...]
    """(case id, anchor index) of the shown ones."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DegradedSection:
    """Everything the degraded-cases section shows."""

    cases: tuple[DegradedCase, ...]
    index: tuple[DegradedIndexRow, ...]
    hidden: int
    """Degraded cases not shown (over the page's cap)."""
    results: int
    """Flagged (case, configuration) results, shown or not."""
    open: int = OPEN_CASES
    """How many of :attr:`cases` are shown open."""


def _scores(
    results: Sequence[CaseResult], pairs: Mapping[tuple[str, str], int]
) -> tuple[ConfigScore, ...]:
    """One line per (score, change, cost, model, cache hit) shared by ``results``."""
    lines: dict[tuple[str, str, str, str, bool], list[CaseResult]] = {}
    for r in results:
        source = r.cost_source
        cost = money(r.cost_usd) + (f" ({source})" if source not in (None, "priced") else "")
        key = (fmt_quality(r.score), fmt_points(r.delta), cost, r.model, r.cache_hit)
        lines.setdefault(key, []).append(r)
    return tuple(
        ConfigScore(
            configs=tuple((r.config, pairs.get((r.suite, r.config))) for r in members),
            score=score,
            delta=delta,
            cost=cost,
            model=model,
            cache_hit=cache_hit,
        )
        for (score, delta, cost, model, cache_hit), members in lines.items()
    )


def _delta(result: CaseResult) -> float:
    return result.delta if result.delta is not None else math.inf


def degraded_case(
    index: int,
    results: Sequence[CaseResult],
    pairs: Mapping[tuple[str, str], int],
    *,
    redacted: bool = False,
) -> DegradedCase:
    """One case's view from its flagged results (one per configuration, any order).

    A redacted case's texts are placeholders: shown whole, not diffed word by word.
    """
    ordered = sorted(results, key=lambda r: (_delta(r), pairs.get((r.suite, r.config), 0)))
    first = ordered[0]
    reference, reference_cut = cut(first.reference, TEXT_LIMIT)
    by_output: dict[str, list[CaseResult]] = {}
    for result in ordered:
        by_output.setdefault(result.output, []).append(result)
    answers = []
    reference_html = escape(reference)
    for output_text, members in by_output.items():
        output, output_cut = cut(output_text, TEXT_LIMIT)
        if redacted:
            output_html = escape(output)
        else:
            output_html, diffed_reference = diff_html(output, reference)
            # Words missing from the answer can be marked in the one reference
            # only when there is one answer to miss them.
            if len(by_output) == 1:
                reference_html = diffed_reference
        answers.append(
            AnswerView(
                output_html=output_html,
                output_cut=output_cut,
                scores=_scores(members, pairs),
            )
        )
    prompt, prompt_cut = cut(first.prompt, TEXT_LIMIT)
    context, context_cut = cut(first.prompt_context, TEXT_LIMIT)
    expected = first.expected if first.expected and first.expected != first.reference else None
    return DegradedCase(
        index=index,
        suite=first.suite,
        case_id=first.case_id,
        category=first.category,
        baseline_score=fmt_quality(first.baseline_score),
        expected=expected,
        prompt=prompt,
        prompt_cut=prompt_cut,
        prompt_context=context,
        prompt_context_cut=context_cut,
        reference_html=reference_html,
        reference_cut=reference_cut,
        answers=tuple(answers),
        worst=fmt_points(first.delta),
        open=index < OPEN_CASES,
    )


def build_degraded(
    pairs: Sequence[tuple[str, str]],
    results: Sequence[CaseResult],
    max_cases: int,
    *,
    redacted: bool = False,
    flagged_by_pair: Mapping[tuple[str, str], int] | None = None,
    flagged_cases: int | None = None,
) -> DegradedSection:
    """The flagged results of a run, one entry per (suite, case), at most ``max_cases``.

    ``pairs`` are the run's (suite, configuration) pairs in verdict-table order.
    Cases that more configurations degraded come first, then the worst drop.
    When ``results`` holds only the shown cases' results (read so from the
    database), ``flagged_by_pair`` (flagged results per pair) and
    ``flagged_cases`` (distinct flagged cases) say how many there are in all.
    """
    rank = {pair: i for i, pair in enumerate(pairs)}
    suite_rank: dict[str, int] = {}
    for suite, _config in pairs:
        suite_rank.setdefault(suite, len(suite_rank))
    grouped: dict[tuple[str, str], list[CaseResult]] = {}
    for result in results:
        if result.flagged:
            grouped.setdefault((result.suite, result.case_id), []).append(result)
    order = sorted(
        grouped.items(),
        key=lambda item: (
            -len(item[1]),
            min(_delta(r) for r in item[1]),
            suite_rank.get(item[0][0], len(suite_rank)),
            item[0][1],
        ),
    )
    shown = order[: max(max_cases, 0)]
    cases = tuple(
        degraded_case(i, members, rank, redacted=redacted)
        for i, (_key, members) in enumerate(shown)
    )
    anchors: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for view in cases:
        for config in view.configs:
            anchors.setdefault((view.suite, config), []).append((view.case_id, view.index))
    if flagged_by_pair is None:
        counted: dict[tuple[str, str], int] = {}
        for members in grouped.values():
            for r in members:
                counted[(r.suite, r.config)] = counted.get((r.suite, r.config), 0) + 1
        flagged_by_pair = counted
    index = tuple(
        DegradedIndexRow(
            suite=suite,
            config=config,
            pair_index=rank[(suite, config)],
            flagged=flagged_by_pair[(suite, config)],
            cases=tuple(sorted(anchors.get((suite, config), []), key=lambda a: a[1])),
        )
        for suite, config in pairs
        if flagged_by_pair.get((suite, config))
    )
    return DegradedSection(
        cases=cases,
        index=index,
        hidden=(len(order) if flagged_cases is None else flagged_cases) - len(shown),
        results=sum(flagged_by_pair.values()),
    )
