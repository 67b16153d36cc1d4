"""CostEvalSession: the state of one ``pytest --cost-eval`` run.

Registered as a plugin by :func:`harness.plugin.pytest_configure` only when the
flag is on. It reads the settings, collects suite files, runs the pipeline
once for every selected item (after ``-k`` and friends have deselected), then
stores the run in DuckDB, writes the report and prints the verdicts.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.analysis.compare import (
    Uncompared,
    compare_paired,
    describe_change,
    describe_regressions,
    describe_uncompared,
    uncompared_pairs,
)
from harness.config.record_mode import RecordMode, default_record_mode
from harness.config.settings import Settings
from harness.config.suites import (
    Suite,
    display_path,
    load_project_suite,
    now_iso,
    suite_files,
)
from harness.engine.batching import run_with_batches
from harness.engine.metadata import new_run_id, run_metadata
from harness.engine.prepare import prepare
from harness.engine.run import in_pair_order
from harness.engine.run import run as run_pipeline
from harness.engine.run_data import Plan, RunOutcome
from harness.errors import CostEvalError
from harness.formatting import money
from harness.plugin.items import ConfigItem, SuiteFile, visible
from harness.plugin.options import limited, option_or_ini, read_settings
from harness.plugin.verdict_lines import verdict_lines
from harness.plugin.warm_up import warm_up
from harness.plugin.xdist import (
    absorb,
    empty_outcome,
    merge_outcomes,
    outcome_to_wire,
    watch_controller,
)
from harness.report import MAX_CASES, render_report, write_markdown_summary
from harness.report.notes import scorer_notes
from harness.store.batches import DuckBatchStore
from harness.store.database import shared_reads
from harness.store.journal import Journal, recover_journals
from harness.store.leases import FileLeases
from harness.store.preflight import check_storage
from harness.store.responses import load_responses
from harness.store.result_spool import ResultSpool, discard_spool
from harness.store.run_queries import ReportRun, load_paired_scores, load_report_run
from harness.store.runs import previous_run_id, write_run
from harness.store.sweeps import write_sweeps
from harness.types import CaseResult, Summary

if TYPE_CHECKING:
    from harness.analysis.compare import PairChange
    from harness.plugin.items import ConfigItem
    from harness.store.journal import Journal
    from harness.types import Response


class CostEvalSession:
    """Run state, kept in ``config.stash[harness.plugin.session_key]``."""

    def __init__(self, config: pytest.Config) -> None:

        self.config = config
        settings = read_settings(config)
        db = option_or_ini(config, "cost_eval_db")
        report = option_or_ini(config, "cost_eval_report")
        self.settings: Settings = _with_paths(settings, db=db, report=report)
        self.plan: Plan = prepare(self.settings)
        self.journal: Journal | None = None
        self.spool: ResultSpool | None = None
        self.warming: threading.Thread | None = None  # warm_up's, joined at the end
        """Where this process writes its case results while the run goes on."""
        self.recorded: dict[str, Response] | None = None
        """Every answer known to this process: the store, then each evaluation's new ones."""
        self.evaluated: set[tuple[str, str]] = set()
        """Pairs this xdist worker has evaluated."""
        self.recovered = 0
        """Responses recovered from the journal of a run that died."""
        self.saved_after_interrupt = 0
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
        """Why the run's results could not be stored (they were not)."""
        self.results_stored = False
        self.report_error: str | None = None
        """Why the report could not be written after the results were stored."""
        self.summary_path: Path | None = None
        self.worker_wires: list[dict[str, Any]] = []
        self.compare_to: str | None = config.getoption("cost_eval_compare")
        self.fail_on_regression: bool = config.getoption("cost_eval_fail_on_regression")
        self.changes: list[PairChange] = []
        self.uncompared = Uncompared()
        """Pairs only one of the two compared runs has (a ``-k`` run, a new configuration)."""
        self.compared_with: str | None = None
        self.compare_note: str | None = None
        if self.fail_on_regression and not self.compare_to:
            raise CostEvalError(
                "--cost-eval-fail-on-regression needs --cost-eval-compare=last (or a run id)."
            )
        if not self.is_worker and not config.getoption("collectonly"):
            # Every path the run writes is tried before anything is paid for.
            check_storage(self.settings.db, self.settings.report)
            # Answers a killed run paid for go into the store before anything is sent
            # (under xdist the controller does it, before the workers start).
            self.recovered = recover_journals(self.settings.db)
        self.leases = FileLeases(self.settings.db)
        """Each distinct paid request is sent by one process: this run, a concurrent
        one, or one of this run's xdist workers (see :mod:`harness.store.leases`)."""
        if not config.getoption("collectonly"):
            self.leases.open()  # before the response store is read: see FileLeases.open
        if self.is_worker:
            # A worker whose controller dies stops paying at once (nobody would store it).
            watch_controller(str(getattr(self.config, "workerinput", {}).get("workerid", "gw")))
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
        """Collect suite files as :class:`~harness.plugin.items.SuiteFile` (pytest hook)."""
        if self.is_suite_file(file_path):
            return SuiteFile.from_parent(parent, path=file_path, eval_session=self)
        return None

    def load_suite(self, path: Path) -> Suite:
        """Load (once) the suite of ``path``; names must be unique across files."""
        suite = limited(load_project_suite(path, self.settings), self.settings.case_limit)
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

        self.items = [item for item in session.items if isinstance(item, ConfigItem)]

    # -- running --------------------------------------------------------------------

    def ensure_run(self, pair: tuple[str, str]) -> None:
        """Evaluate what ``pair``'s item needs, once.

        In one process: every selected pair at the first item, all at once (one
        executor: a request needed by several configurations is sent once). In a
        pytest-xdist worker, which cannot know which items it will be given:
        each item's own pair when it runs, with every answer obtained so far
        reused, so nothing is asked twice within the worker.
        """
        if self.run_error is not None:
            raise CostEvalError(self.run_error)
        if self.is_worker:
            if pair not in self.evaluated:
                self.evaluated.add(pair)
                self._evaluate([pair])
            return
        if self.outcome is None:
            selected = list(dict.fromkeys((item.suite, item.config_name) for item in self.items))
            self._evaluate(selected)

    def _evaluate(self, selected: list[tuple[str, str]]) -> None:

        try:
            if self.recorded is None:
                self.recorded = load_responses(self.settings.db)
            if self.journal is None:
                self.journal = Journal(self.settings.db, self.journal_name())
            options: dict[str, Any] = {
                "update_goldens": self.update_goldens,
                "recorded": self.recorded,
                "record_mode": self.record_mode,
                "progress": self.say,
                "on_response": self.journal.append,
                "leases": self.leases,
            }
            if not self.config.getoption("cost_eval_batch"):
                # (Batch rounds re-evaluate every pair: only the last round's results count.)
                if self.spool is None:
                    self.spool = ResultSpool(self.settings.db, self.journal_name())
                options["sink"] = self.spool
            interval = self.config.getini("cost_eval_progress_interval")
            if interval and not self.config.getoption("cost_eval_batch"):
                options["progress_interval"] = _seconds(interval)
            started = time.monotonic()
            if not self.is_worker and self.warming is None:
                # While the run waits for answers, the report's imports and templates
                # load in the idle CPU (the controller renders; a worker does not).
                self.warming = threading.Thread(
                    target=warm_up, name="cost-eval-warm-up", daemon=True
                )
                self.warming.start()
            if self.config.getoption("cost_eval_batch"):
                outcome = run_with_batches(
                    self.plan,
                    self.suites,
                    selected,
                    poll_interval=self.config.getoption("cost_eval_batch_poll"),
                    batch_timeout=self.config.getoption("cost_eval_batch_timeout"),
                    batch_store=DuckBatchStore(self.settings.db),
                    **options,
                )
            else:
                outcome = run_pipeline(self.plan, self.suites, selected, **options)
        except CostEvalError as exc:
            self.run_error = str(exc)
            raise
        for key, (_request, response) in outcome.new_responses.items():
            self.recorded[key] = response
        if not self.is_worker:
            # The run's totals as the last progress line, for CI logs.
            errors = sum(summary.errors for summary in outcome.summaries)
            results = sum(summary.n + summary.errors for summary in outcome.summaries)
            self.say(
                f"done: {results} case result(s) over {len(outcome.summaries)} "
                f"(suite, configuration) pair(s) in {time.monotonic() - started:.1f} s; "
                f"{outcome.calls} provider call(s), {outcome.remote_calls} paid"
                + (
                    f", {outcome.shared} answered by another process that paid for them"
                    if outcome.shared
                    else ""
                )
                # Only when there are any: "0 errored" would read as a problem in CI logs.
                + (f", {errors} errored case(s)" if errors else "")
                + f"; {money(outcome.spend_usd)} spent"
            )
        if self.outcome is None:
            self.outcome = outcome
        else:
            absorb(self.outcome, outcome)

    @property
    def is_worker(self) -> bool:
        """True in a pytest-xdist worker (which never writes the database)."""
        return hasattr(self.config, "workerinput")

    def journal_name(self) -> str:
        """A name for this process's journal: unique per run and per xdist worker."""
        import os
        import uuid

        worker = getattr(self.config, "workerinput", {}).get("workerid", "main")
        return f"{worker}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def say(self, message: str) -> None:
        """One progress line on the terminal, shown while pytest captures output.

        The run happens inside the first item's test, where pytest captures
        stdout (at file-descriptor level): the line is written through the
        terminal reporter with capture suspended, so it reaches the terminal (and
        CI logs) as the run goes. Shown with ``-q``; silenced by ``-qq``.
        """
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.get_verbosity() < -1:
            return
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            reporter.ensure_newline()
            reporter.write_line(f"cost-eval: {message}")

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

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Collect a pytest-xdist worker's outcome (controller side; xdist hook)."""
        wire = getattr(node, "workeroutput", {}).get("cost_eval")
        if wire is not None:
            self.worker_wires.append(wire)

    def merge_workers(self) -> None:
        """Under xdist the controller ran nothing: fold the workers' outcomes into one run."""

        order: list[tuple[str, str]] = []
        for path in suite_files(self.settings.suites_dir):
            suite = self.suites.get(path.stem) or self.load_suite(path)
            order.extend(
                (suite.name, spec.name)
                for spec in self.plan.configs.values()
                if spec.applies_to(suite.name)
            )
        base = empty_outcome(
            self.settings, new_run_id(), now_iso(), run_metadata(self.settings.root)
        )
        self.outcome = merge_outcomes(base, self.worker_wires, order)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Store the run and write the report (pytest hook)."""
        if self.warming is not None:
            # Its imports are the end's own (done by now, or waited for anyway), and a
            # run that failed early must not leave it importing past the session.
            self.warming.join()
        try:
            self.finish(session)
        finally:
            self.leases.close()  # after storing: a run starting now reads our answers

    def finish(self, session: pytest.Session) -> None:
        """Store the run (the controller only) and write the report."""
        if hasattr(self.config, "workerinput"):
            # An xdist worker: hand the outcome to the controller, the only writer.
            if self.journal is not None:
                self.journal.close()  # unlocked: the controller folds it once stored
            if self.spool is not None:
                self.spool.spill()  # on disk: the controller copies it into the database
                self.spool.close()
            if self.outcome is not None:
                wire = outcome_to_wire(self.outcome)
                wire["spool"] = str(self.spool.path) if self.spool is not None else None
                self.config.workeroutput["cost_eval"] = wire  # type: ignore[attr-defined]
            return
        if self.outcome is None and self.worker_wires:
            self.merge_workers()
        if self.outcome is None:
            self.save_journal()  # interrupted (Ctrl-C): keep what was paid for
            return

        spools = [Path(w["spool"]) for w in self.worker_wires if w.get("spool")]
        if self.spool is not None and self.spool.spilled:
            self.spool.close()
            spools.insert(0, self.spool.path)
        elif self.spool is not None:
            # A run small enough to keep: its results are stored from memory.
            self.outcome.results = in_pair_order(self.spool.kept, self.outcome.summaries)
            self.outcome.streamed = False
        try:
            write_run(self.settings.db, self.outcome, spools=spools)
            if self.outcome.sweeps:
                write_sweeps(self.settings.db, self.outcome.run_id, self.outcome.sweeps)
            self.results_stored = True
            if self.journal is not None:
                self.journal.discard()
            if self.worker_wires:
                recover_journals(self.settings.db)  # the workers' journals: now stored
            with shared_reads(self.settings.db):  # one connection for every read below
                self.write_report(session)
        except (CostEvalError, OSError) as exc:
            problem = str(exc) if isinstance(exc, CostEvalError) else _os_problem(exc)
            if self.results_stored:
                self.report_error = problem
            else:
                self.storage_error = problem
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        finally:
            for spool in spools:
                discard_spool(spool)

    def write_report(self, session: pytest.Session) -> None:
        """Read back what the report shows of the stored run; compare; write report and summary."""
        assert self.outcome is not None
        # What the report shows, read back in SQL: the summaries and the cases it
        # lists, never every result (a run may hold millions).
        stored = load_report_run(self.settings.db, self.outcome.run_id, max_cases=MAX_CASES)
        if self.compare_to:
            self.compare(stored, session)
        # The report compares with the previous run; reuse the comparison when
        # this session already made that very one.
        previous = (
            (self.compared_with, self.changes)
            if self.compared_with is not None and self.compare_to in ("last", "previous")
            else None
        )
        self.report_path = render_report(
            stored,
            self.settings.report,
            db=self.settings.db,
            previous=previous,
            uncompared=self.uncompared if previous is not None else None,
        )
        self.summary_path = write_markdown_summary(
            stored, self.settings.report.with_name("summary.md")
        )

    def save_journal(self) -> None:
        """After an interrupted run: fold its journal (and any others) into the store."""
        if self.journal is None or self.journal.entries == 0:
            return

        self.journal.close()
        try:
            self.saved_after_interrupt = recover_journals(self.settings.db)
        except CostEvalError as exc:
            self.storage_error = str(exc)

    def compare(self, stored: ReportRun, session: pytest.Session) -> None:
        """Compare the stored run with the previous one (or a named run)."""

        assert self.outcome is not None and self.compare_to is not None
        run_id = self.outcome.run_id
        if self.compare_to in ("last", "previous"):
            before_id = previous_run_id(self.settings.db, run_id)
            if before_id is None:
                self.compare_note = "no earlier run on this branch to compare with"
                return
        else:
            before_id = self.compare_to
        before = load_report_run(self.settings.db, before_id, cases=False)
        self.compared_with = str(before.run["run_id"])
        # Paired in SQL: no object per case of either run.
        paired = load_paired_scores(self.settings.db, self.compared_with, run_id)
        self.changes = compare_paired(
            before.summaries,
            stored.summaries,
            paired,
            seed=self.settings.seed,
            max_cost_increase=self.settings.gate.max_cost_increase,
            cost_margins={
                name: spec.gate.max_cost_increase for name, spec in self.plan.configs.items()
            },
        )
        self.uncompared = uncompared_pairs(before, stored)
        missing_fails = self.settings.missing_configs == "fail" and self.uncompared.before_only
        if self.fail_on_regression and (any(c.regressed for c in self.changes) or missing_fails):
            session.exitstatus = max(int(session.exitstatus), int(pytest.ExitCode.TESTS_FAILED))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print every verdict, the flagged report-only ones and where the report is."""
        outcome = self.outcome
        if self.saved_after_interrupt:
            terminalreporter.write_line(
                f"cost-eval: run interrupted; its {self.saved_after_interrupt} paid response(s) "
                f"are saved in {display_path(self.settings.db)}: the next run will not pay "
                "for them again"
            )
        if outcome is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section("cost-eval")
        suites = len({s.suite for s in outcome.summaries})
        if self.recovered:
            write(f"recovered {self.recovered} response(s) from a run that did not finish")
        for warning in self.settings.warnings:
            write(f"warning: {warning}", yellow=True)
        write(
            f"run {outcome.run_id}: {len(outcome.summaries)} (suite, configuration) pairs over "
            f"{suites} suite(s); {outcome.calls} provider call(s), {outcome.remote_calls} of them "
            f"to paid APIs (spent {money(outcome.spend_usd)}); baseline "
            f"{self.settings.baseline}"
        )
        if outcome.redacted:
            write(
                f"redacted {outcome.redacted} API key(s) found in answers before storing or "
                "showing them (configured keys and key-shaped strings became [REDACTED])",
                yellow=True,
            )
        for name, count in outcome.goldens_written.items():
            write(f"recorded {count} golden(s) for suite {name!r}")
        for line in verdict_lines(outcome):
            write(line)
        # Once per suite: the scorer is the suite's, whatever the configuration.
        for note in scorer_notes(outcome.summaries):
            if note.blocking:
                write(f"  SCORER       {note.suite}: {note.text}", red=True)
            else:
                write(f"  warning      {note.suite}: {note.text}", yellow=True)
        for suite, problem in outcome.problems.items():
            write(f"  ERROR        {suite}: {visible(problem)}", red=True)
        if self.compared_with is not None:
            compared = len(self.changes)
            write(
                f"compared with run {self.compared_with}: {describe_regressions(self.changes)}; "
                f"{compared} of {compared + self.uncompared.count} configuration(s) compared"
            )
            for change in self.changes:
                if change.regressed or change.flipped:
                    for line in describe_change(change):
                        write(line, red=change.regressed)
            for line in self.uncompared_lines():
                write(line, yellow=True)
        elif self.compare_note:
            write(f"compare: {self.compare_note}")
        if self.storage_error:
            write(f"cost-eval: results not stored: {self.storage_error}", red=True)
        else:
            write(f"results: {display_path(self.settings.db)} (run {outcome.run_id})")
        if self.report_error:
            write(
                f"cost-eval: report not written (the results are stored): "
                f"{self.report_error.rstrip('.')}. "
                "Fix the path, then `harness report` writes it from the database.",
                red=True,
            )
        if self.report_path is not None:
            write(f"report:  {display_path(self.report_path)}")
        if self.summary_path is not None:
            write(f"summary: {display_path(self.summary_path)}")

    def uncompared_lines(self) -> list[str]:
        """The pairs the comparison left out, and what ``missing_configs`` makes of them."""
        text = describe_uncompared(self.uncompared)
        if text is None:
            return []
        lines = [f"  {text}"]
        if self.fail_on_regression and self.uncompared.before_only:
            if self.settings.missing_configs == "fail":
                lines.append(
                    '  missing from this run: fails the run (missing_configs = "fail" in '
                    "[tool.cost-eval])"
                )
            else:
                lines.append(
                    "  missing from this run: a warning, not a failure; set missing_configs = "
                    '"fail" in [tool.cost-eval] to fail the run'
                )
        return lines


def _seconds(value: object) -> float:
    """The ini key ``cost_eval_progress_interval`` as a positive number of seconds."""
    try:
        seconds = float(str(value))
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise CostEvalError(
            f"cost_eval_progress_interval = {value!r} (pytest ini options): expected a "
            'positive number of seconds, e.g. cost_eval_progress_interval = "5".'
        )
    return seconds


def _os_problem(exc: OSError) -> str:
    """``<path>: <what went wrong>`` of a failed file operation."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or type(exc).__name__}"


def _with_paths(settings: Settings, *, db: str | None, report: str | None) -> Settings:
    """Settings with the database and report paths given on the command line."""
    from dataclasses import replace

    if db:
        settings = replace(settings, db=Path(db).resolve())
    if report:
        settings = replace(settings, report=Path(report).resolve())
    return settings
