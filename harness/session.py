"""CostEvalSession: the state of one ``pytest --cost-eval`` run.

Registered as a plugin by :func:`harness.plugin.pytest_configure` only when the
flag is on. It reads the settings, collects suite files, runs the pipeline
once for every selected item (after ``-k`` and friends have deselected), then
stores the run in DuckDB, writes the report and prints the verdicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .collect import SuiteFile
from .errors import CostEvalError
from .execute import RecordMode
from .format import cost_change, money, points
from .pipeline import Plan, RunOutcome, prepare
from .pipeline import run as run_pipeline
from .settings import Settings, load_settings
from .suites import Suite, display_path, load_suite
from .types import CaseResult, Summary

if TYPE_CHECKING:
    from .collect import ConfigItem


class CostEvalSession:
    """Run state, kept in ``config.stash[harness.plugin.session_key]``."""

    def __init__(self, config: pytest.Config) -> None:
        from .plugin import default_record_mode, option_or_ini

        self.config = config
        root = Path(config.rootpath)
        settings = load_settings(root, option_or_ini(config, "cost_eval_config"))
        db = option_or_ini(config, "cost_eval_db")
        report = option_or_ini(config, "cost_eval_report")
        self.settings: Settings = _with_paths(settings, db=db, report=report)
        self.plan: Plan = prepare(self.settings)
        self.update_goldens: str | None = config.getoption("cost_eval_update_goldens")
        self.record_mode: RecordMode = (
            config.getoption("cost_eval_record_mode") or default_record_mode()
        )
        self.suites: dict[str, Suite] = {}
        self.items: list[ConfigItem] = []
        self.outcome: RunOutcome | None = None
        self.run_error: str | None = None
        self.report_path: Path | None = None
        self.storage_error: str | None = None
        if config.args_source != pytest.Config.ArgsSource.ARGS:
            # `pytest --cost-eval` with no paths evaluates the suites folder
            # rather than the project's testpaths.
            config.args[:] = [str(self.settings.suites_dir)]

    # -- collection ---------------------------------------------------------------

    def is_suite_file(self, path: Path) -> bool:
        """A YAML file directly inside the suites folder, not starting with ``_``."""
        return (
            path.suffix in (".yaml", ".yml")
            and not path.name.startswith(("_", "."))
            and path.parent.resolve() == self.settings.suites_dir.resolve()
        )

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> SuiteFile | None:
        """Collect suite files as :class:`~harness.collect.SuiteFile` (pytest hook)."""
        if self.is_suite_file(file_path):
            return SuiteFile.from_parent(parent, path=file_path, eval_session=self)
        return None

    def load_suite(self, path: Path) -> Suite:
        """Load (once) the suite of ``path``; names must be unique across files."""
        suite = load_suite(path, gate=self.settings.gate)
        other = self.suites.get(suite.name)
        if other is not None and other.path != suite.path:
            raise CostEvalError(
                f"{display_path(path)}: suite name {suite.name!r} is already used by "
                f"{display_path(other.path)}. Give each suite a unique 'suite:'."
            )
        self.suites[suite.name] = suite
        return suite

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember the items left after deselection: the pairs to evaluate (pytest hook)."""
        from .collect import ConfigItem

        self.items = [item for item in session.items if isinstance(item, ConfigItem)]

    # -- running --------------------------------------------------------------------

    def ensure_run(self) -> None:
        """Evaluate every selected pair, once, on the first item's call."""
        if self.outcome is not None:
            return
        if self.run_error is not None:
            raise CostEvalError(self.run_error)
        selected = list(dict.fromkeys((item.suite, item.config_name) for item in self.items))
        from .storage import load_responses

        try:
            recorded = load_responses(self.settings.db)
            self.outcome = run_pipeline(
                self.plan,
                self.suites,
                selected,
                update_goldens=self.update_goldens,
                recorded=recorded,
                record_mode=self.record_mode,
            )
        except CostEvalError as exc:
            self.run_error = str(exc)
            raise

    def problem_of(self, suite: str) -> str | None:
        """Why ``suite`` could not be evaluated, or None."""
        assert self.outcome is not None
        return self.outcome.problems.get(suite)

    def summary_of(self, suite: str, config: str) -> Summary:
        """The verdict of one pair."""
        assert self.outcome is not None
        for summary in self.outcome.summaries:
            if summary.suite == suite and summary.config == config:
                return summary
        raise KeyError((suite, config))

    def results_of(self, suite: str, config: str) -> list[CaseResult]:
        """The case results of one pair."""
        assert self.outcome is not None
        return [r for r in self.outcome.results if r.suite == suite and r.config == config]

    def inconclusive_passes(self, config: str, suite: str) -> bool:
        """Whether an inconclusive verdict lets the item pass (gate ``on_inconclusive``)."""
        spec = self.plan.configs[config]
        suite_gate = self.suites[suite].gate_overrides
        gate = self.settings.gate.merged(suite_gate, where=suite).merged(
            spec.gate_overrides, where=config
        )
        return gate.on_inconclusive == "pass"

    # -- after the run ------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Store the run and write the report (pytest hook)."""
        if self.outcome is None or hasattr(self.config, "workerinput"):
            return
        from .report import render_report
        from .storage import load_run, write_run

        try:
            write_run(self.settings.db, self.outcome)
            stored = load_run(self.settings.db, self.outcome.run_id)
            self.report_path = render_report(stored, self.settings.report)
        except CostEvalError as exc:
            self.storage_error = str(exc)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print every verdict, the flagged report-only ones and where the report is."""
        outcome = self.outcome
        if outcome is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section("cost-eval")
        suites = len({s.suite for s in outcome.summaries})
        write(
            f"run {outcome.run_id}: {len(outcome.summaries)} (suite, configuration) pairs over "
            f"{suites} suite(s); {outcome.calls} provider call(s); baseline "
            f"{self.settings.baseline}"
        )
        for name, count in outcome.goldens_written.items():
            write(f"recorded {count} golden(s) for suite {name!r}")
        for summary in outcome.summaries:
            label = summary.verdict.upper()
            if summary.verdict != "pass" and not summary.enforced:
                label = "FLAGGED"
            mode = "enforced" if summary.enforced else "report-only"
            write(
                f"  {label:<12} {summary.suite} :: {summary.config} ({mode}): quality "
                f"{summary.quality:.3f} (delta {points(summary.delta)} pts, CI "
                f"[{points(summary.ci_low)}, {points(summary.ci_high)}]), "
                f"{money(summary.cost_per_query)}/query ({cost_change(summary.savings_pct)})"
            )
        for suite, problem in outcome.problems.items():
            write(f"  ERROR        {suite}: {problem}", red=True)
        if self.storage_error:
            write(f"cost-eval: results not stored: {self.storage_error}", red=True)
        else:
            write(f"results: {display_path(self.settings.db)} (run {outcome.run_id})")
        if self.report_path is not None:
            write(f"report:  {display_path(self.report_path)}")


def _with_paths(settings: Settings, *, db: str | None, report: str | None) -> Settings:
    """Settings with the database and report paths given on the command line."""
    from dataclasses import replace

    if db:
        settings = replace(settings, db=Path(db).resolve())
    if report:
        settings = replace(settings, report=Path(report).resolve())
    return settings
