"""The pytest plugin: options, and the session registered when ``--cost-eval`` is on.

This module is imported by every pytest run in every project that installs the
harness, so it imports nothing heavy: without ``--cost-eval`` it adds its
options and does nothing else (no suites collected, no openai, anthropic,
datasets, evaluate or duckdb imported). With the flag, :mod:`harness.plugin.session`
is imported and a :class:`~harness.plugin.session.CostEvalSession` registered, which
collects the suites and runs the evaluation.
"""

from __future__ import annotations

import argparse
import atexit
import gc
from typing import TYPE_CHECKING

import pytest

from harness.config.record_mode import RECORD_MODES
from harness.errors import CostEvalError

if TYPE_CHECKING:
    from harness.plugin.session import CostEvalSession  # noqa: F401  (used in a string annotation)

session_key = pytest.StashKey["CostEvalSession"]()
"""Where the run state lives: ``config.stash[session_key]``."""
thaw_at_exit_key = pytest.StashKey[bool]()
"""Set when the heap is to be frozen at the session's end and thawed at exit."""

UPDATE_MODES = ("new", "all")


def parse_update_mode(value: str) -> str:
    """``--cost-eval-update-goldens[=new|all]``: which goldens to (re)record."""
    if value not in UPDATE_MODES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an update mode. Use 'new' (missing and stale goldens, the "
            "default) or 'all' (re-record every golden)."
        )
    return value


def parse_record_mode(value: str) -> str:
    """``--cost-eval-record-mode none|new|all``."""
    if value not in RECORD_MODES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a record mode. Use 'none' (never call a paid provider: "
            "answers come from the store), 'new' (call only for requests never recorded) or "
            "'all' (call again for every request)."
        )
    return value


def parse_limit(value: str) -> int:
    """``--cost-eval-limit N``: a whole number of cases, at least 1."""
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of cases. Give a whole number of 1 or more "
            "(--cost-eval-limit 10: the first 10 cases of each suite)."
        )
    return limit


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--cost-eval-*`` flags and their ini keys."""
    group = parser.getgroup("cost-eval", "LLM cost-optimization evaluation (harness)")
    group.addoption(
        "--cost-eval",
        action="store_true",
        dest="cost_eval",
        default=False,
        help="Run the golden query suites through every configuration in [tool.cost-eval] "
        "and gate on quality. Without paths, collects only the suites folder. Default: False",
    )
    group.addoption(
        "--cost-eval-settings",
        dest="cost_eval_settings",
        metavar="PATH",
        default=None,
        help="Settings file: TOML holding the [tool.cost-eval] table (or its keys at top "
        "level). Default: cost-eval.toml, else pyproject.toml",
    )
    group.addoption(
        "--cost-eval-config",
        dest="cost_eval_config",
        metavar="PATH",
        default=None,
        help="Deprecated name of --cost-eval-settings (a configuration is one entry of "
        "[[tool.cost-eval.configs]], not a file).",
    )
    group.addoption(
        "--cost-eval-limit",
        dest="cost_eval_limit",
        metavar="N",
        default=None,
        type=parse_limit,
        help="Evaluate only the first N cases of each suite: a quick look (the terminal "
        "says the run was limited; the stored run keeps the limit). Default: every case",
    )
    group.addoption(
        "--cost-eval-db",
        dest="cost_eval_db",
        metavar="PATH",
        default=None,
        help="DuckDB file for runs and results. Default: the 'db' setting, "
        "results/cost_eval.duckdb",
    )
    group.addoption(
        "--cost-eval-report",
        dest="cost_eval_report",
        metavar="PATH",
        default=None,
        help="Where to write the HTML report. Default: the 'report' setting, results/report.html",
    )
    group.addoption(
        "--cost-eval-update-goldens",
        dest="cost_eval_update_goldens",
        nargs="?",
        const="new",
        default=None,
        type=parse_update_mode,
        metavar="new|all",
        help="Record the baseline model's answers as goldens: 'new' for cases without a "
        "golden or with a stale one, 'all' to re-record every case. Default: None",
    )
    group.addoption(
        "--cost-eval-record-mode",
        dest="cost_eval_record_mode",
        default=None,
        type=parse_record_mode,
        metavar="none|new|all",
        help="When paid providers may be called: 'none' answers only from recorded responses "
        "(a missing one is an error naming the request), 'new' calls for unrecorded requests, "
        "'all' re-records everything. Simulated (sim:) models are always run. "
        "Default: 'none' when $CI is set, else 'new'",
    )
    group.addoption(
        "--cost-eval-compare",
        dest="cost_eval_compare",
        default=None,
        metavar="last|RUN_ID",
        help="After the run, compare each configuration with the last run on the same branch "
        "(or the given run): quality change with its interval, cost change, flipped cases. "
        "Default: None",
    )
    group.addoption(
        "--cost-eval-fail-on-regression",
        dest="cost_eval_fail_on_regression",
        action="store_true",
        default=False,
        help="With --cost-eval-compare: exit non-zero when any configuration regressed, in "
        "quality or in cost (max_cost_increase) (used by `harness nightly`). Default: False",
    )
    group.addoption(
        "--cost-eval-batch",
        dest="cost_eval_batch",
        action="store_true",
        default=False,
        help="Send every paid request through the providers' batch APIs (OpenAI Batch, "
        "Anthropic Message Batches) at half price; answers can take up to 24 h. An interrupted "
        "run resumes its pending batches. Default: False",
    )
    group.addoption(
        "--cost-eval-batch-poll",
        dest="cost_eval_batch_poll",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="Seconds between status checks of a pending batch. Default: %(default)r",
    )
    group.addoption(
        "--cost-eval-batch-timeout",
        dest="cost_eval_batch_timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="With --cost-eval-batch: stop waiting for the batches after this many seconds; "
        "their cases become error rows and the batches stay pending, so the next run "
        "resumes them without paying twice. Default: wait until they end",
    )
    parser.addini(
        "cost_eval_settings", "Settings file holding the [tool.cost-eval] table", default=None
    )
    parser.addini("cost_eval_config", "Deprecated name of cost_eval_settings", default=None)
    parser.addini("cost_eval_limit", "Evaluate only the first N cases of each suite", default=None)
    parser.addini("cost_eval_db", "DuckDB file for runs and results", default=None)
    parser.addini("cost_eval_report", "Where to write the HTML report", default=None)
    parser.addini(
        "cost_eval_progress_interval",
        "Seconds between live progress lines during a run (default 5)",
        default=None,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Give the collector back every object the session froze, last thing at exit (pytest hook).

    :func:`pytest_sessionfinish` freezes the heap once the report is written: pytest's
    unraisable-exception check then runs five full collections over a heap
    the SDKs and the run have filled (0.2-0.4 s). Registered here, before
    any plugin's ``pytest_configure``, this cleanup runs after all of theirs:
    a process that goes on after ``pytest.main()`` gets its collector back whole.

    At the interpreter's exit (``atexit``, so only then) the heap is frozen
    again: CPython's last collection would walk every object the run made
    to free cycles that the end of the process frees anyway (0.3 s at
    250,000 results). Like any object alive at exit, such a cycle's
    ``__del__`` may then not run; CPython does not promise it would.
    """
    global _freeze_at_exit_registered
    if config.getoption("cost_eval", default=False):
        config.add_cleanup(gc.unfreeze)
        config.stash[thaw_at_exit_key] = True
        if not _freeze_at_exit_registered:
            atexit.register(gc.freeze)
            _freeze_at_exit_registered = True


_freeze_at_exit_registered = False
"""Whether :func:`pytest_cmdline_main` registered the freeze at exit (once per process)."""


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Freeze the heap once the run is stored and reported (pytest hook).

    Frozen objects are still freed when nothing refers to them; only cycles
    made before now wait for :func:`pytest_cmdline_main`'s ``gc.unfreeze``,
    so an unraisable exception in one of those goes unreported.
    """
    if session.config.stash.get(thaw_at_exit_key, False):
        gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the evaluation session, only when ``--cost-eval`` is given."""
    if not config.getoption("cost_eval"):
        return
    # The one lazy hop into the package: the session pulls in the engine, and a plain
    # `pytest` run (no --cost-eval) must stay light.
    from harness.plugin.session import CostEvalSession

    try:
        session = CostEvalSession(config)
    except CostEvalError as exc:
        # A UsageError prints as one "ERROR: ..." paragraph, no traceback.
        raise pytest.UsageError(str(exc)) from None
    config.stash[session_key] = session
    config.pluginmanager.register(session, "cost-eval-session")
