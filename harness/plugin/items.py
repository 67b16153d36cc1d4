"""Suites become pytest items: one item per (suite, configuration).

A suite file ``suites/faq.yaml`` is collected as a :class:`SuiteFile` whose
items are :class:`ConfigItem` s with ids ``suites/faq.yaml::<config>``, so
``-k`` selects configurations. An item fails when its configuration is
enforced and its gate does not pass; the failure text gives the delta, the
interval, the margin, the cost and the worst cases, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import CostEvalError
from harness.formatting import cost_change, money, points, verdict_word
from harness.report.redaction import placeholder
from harness.types import CaseResult, Summary

if TYPE_CHECKING:
    from harness.plugin.session import CostEvalSession

WORST_SHOWN = 5

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""What a terminal acts on instead of printing: control characters (ESC starts the
sequences that set a window's title or clear the screen; CR overwrites a line) and
bidirectional overrides. Newlines and tabs are kept."""


class GateFailure(Exception):
    """An enforced configuration did not pass its gate (not an error: a verdict)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SuiteFile(pytest.File):
    """A suite YAML file: yields one item per configuration that applies to it."""

    def __init__(self, *, eval_session: CostEvalSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eval_session = eval_session

    def collect(self) -> Iterator[ConfigItem]:
        suite = self.eval_session.load_suite(self.path)
        for spec in self.eval_session.plan.configs.values():
            if spec.applies_to(suite.name):
                yield ConfigItem.from_parent(
                    self,
                    name=spec.name,
                    suite=suite.name,
                    config_name=spec.name,
                    eval_session=self.eval_session,
                )

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str:
        """A bad suite file is one paragraph, not a traceback."""
        if isinstance(excinfo.value, CostEvalError):
            return visible(str(excinfo.value))
        return str(super().repr_failure(excinfo))


class ConfigItem(pytest.Item):
    """One configuration evaluated on one suite."""

    def __init__(
        self, *, suite: str, config_name: str, eval_session: CostEvalSession, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.config_name = config_name
        self.eval_session = eval_session

    def runtest(self) -> None:
        """Run the evaluation (once, for every selected item) and apply this item's gate."""
        self.eval_session.ensure_run((self.suite, self.config_name))
        problem = self.eval_session.problem_of(self.suite)
        if problem is not None:
            raise CostEvalError(problem)
        summary = self.eval_session.summary_of(self.suite, self.config_name)
        self.user_properties.extend(junit_properties(summary))
        if summary.verdict == "pass":
            return
        if not summary.enforced:
            return  # report-only: flagged in the report and the terminal summary
        if summary.verdict == "inconclusive" and self.eval_session.inconclusive_passes(
            self.config_name, self.suite
        ):
            return
        cases = self.eval_session.results_of(self.suite, self.config_name)
        settings = self.eval_session.settings
        raise GateFailure(failure_text(summary, cases, settings.volume, redact=settings.redact))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The verdict and its evidence instead of a traceback."""
        if isinstance(excinfo.value, GateFailure):
            return excinfo.value.text
        if isinstance(excinfo.value, CostEvalError):
            return visible(str(excinfo.value))
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.suite} :: {self.config_name}"


def junit_properties(summary: Summary) -> list[tuple[str, object]]:
    """Numbers attached to the item (JUnit XML ``<properties>``)."""
    return [
        ("cost_eval_verdict", summary.verdict),
        # The word every other output shows (pass, fail, inconclusive, flagged) and the mode.
        ("cost_eval_label", verdict_word(summary.verdict, enforced=summary.enforced)),
        ("cost_eval_enforced", str(summary.enforced).lower()),
        ("cost_eval_errors", summary.errors),
        ("cost_eval_quality", round(summary.quality, 6)),
        ("cost_eval_delta", round(summary.delta, 6)),
        ("cost_eval_ci_low", round(summary.ci_low, 6)),
        ("cost_eval_ci_high", round(summary.ci_high, 6)),
        ("cost_eval_cost_per_query", f"{summary.cost_per_query:.8f}"),
        ("cost_eval_savings_pct", round(summary.savings_pct, 2)),
    ]


def failure_text(
    summary: Summary, cases: list[CaseResult], volume: str, *, redact: bool = False
) -> str:
    """What a person needs to judge a failed gate, in a few lines.

    With ``redact`` (``[tool.cost-eval] redact = true``) case texts are shown as
    their length and hash, as in the report: failure texts land in JUnit XML.
    """
    show = shorten
    if redact:

        def show(text: str, width: int = 110) -> str:
            return placeholder(text)

    lines = [
        f"{summary.suite} :: {summary.config}: "
        f"{verdict_word(summary.verdict, enforced=summary.enforced).upper()} (enforced)",
        f"  quality {summary.quality:.3f} vs baseline {summary.baseline_quality:.3f}: "
        f"delta {points(summary.delta)} points, CI [{points(summary.ci_low)}, "
        f"{points(summary.ci_high)}], margin -{summary.margin * 100:.1f} points, n = {summary.n}"
        + (f", {summary.errors} errored" if summary.errors else ""),
        f"  cost per query {money(summary.cost_per_query)} vs "
        f"{money(summary.baseline_cost_per_query)} ({cost_change(summary.savings_pct)}); "
        f"monthly {money(summary.monthly_cost)} vs {money(summary.baseline_monthly_cost)} "
        f"at {volume}",
    ]
    if summary.n == 0:
        # Nothing answered: no quality and no cost to show (an error is never a saving).
        lines[1:] = [f"  no answers: all {summary.errors} case(s) errored; nothing measured"]
    for reason in summary.reasons:
        lines.append(f"  why: {reason}")
    worst = sorted(
        (c for c in cases if c.delta is not None and c.delta < 0),
        key=lambda c: (c.delta, c.case_id),
    )[:WORST_SHOWN]
    errored = [c for c in cases if c.error][:WORST_SHOWN]
    if worst:
        lines.append("  worst cases:")
        for case in worst:
            lines.append(
                f"    {case.case_id} [{case.category}] score {case.score:.2f} "
                f"(baseline {case.baseline_score:.2f}) via {case.model}"
            )
            lines.append(f"      output:    {show(case.output)}")
            lines.append(f"      reference: {show(case.reference)}")
    if errored:
        lines.append("  errors:")
        for case in errored:
            lines.append(f"    {case.case_id}: {shorten(case.error or '')}")
    return "\n".join(lines)


def shorten(text: str, width: int = 110) -> str:
    """One line, cut to ``width`` characters, control characters made :func:`visible`."""
    flat = visible(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def visible(text: str) -> str:
    """``text`` safe to print on a terminal: every control character (ESC, CR, BEL,
    ...) and bidirectional override shown as its escape (``\\x1b``, ``\\u202e``).

    Model answers and provider errors are text from outside: printed raw, an
    escape sequence could set the window title, clear the screen or draw a fake
    verdict.
    """
    return _CONTROL.sub(lambda m: _escape(m.group()), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
