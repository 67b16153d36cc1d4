"""Check everything a run needs before a single request is sent.

Configurations, chains, models and prices are checked, and suites loaded with
unique names, so bad input is reported up front, located and explained.

A model with no price stops the run here only when it is simulated (``sim:``),
whose answers never carry a billed cost. Any other model may answer from
recordings that carry their costs: it is noted in :attr:`Plan.unpriced`, never
called live (:class:`~harness.engine.executor.Executor`), and an answer of it
without a recorded cost fails when priced (:mod:`harness.engine.costs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.config.prices import PriceTable
from harness.config.settings import ConfigSpec, Settings
from harness.config.suites import Suite, display_path, load_project_suite, suite_files
from harness.config.volume import parse_volume
from harness.engine.run_data import Plan
from harness.errors import ConfigError, CostEvalError, SuiteError
from harness.providers import check_model_spec
from harness.strategies.chain import build_chain


def prepare(settings: Settings) -> Plan:
    """Check every configuration (strategies, models, prices) before anything is sent.

    Raises:
        CostEvalError: the first problem found, located and explained.
    """
    prices = PriceTable(settings.prices)
    where = f"{settings.source} [tool.cost-eval]"
    unpriced: dict[str, str] = {}

    def check_price(model: str) -> None:
        try:
            prices.price_of(model)
        except ConfigError as exc:
            if model.partition(":")[0] == "sim":
                raise
            unpriced[model] = str(exc)

    check_model_spec(settings.baseline, where=f"{where} baseline")
    check_price(settings.baseline)
    configs: dict[str, ConfigSpec] = {}
    for spec in settings.configs:
        cwhere = f"{where} config {spec.name!r}"
        chain = build_chain(spec, where=cwhere)
        for model in chain.models():
            check_model_spec(model, where=cwhere)
            check_price(model)
        configs[spec.name] = spec
    try:
        volume = parse_volume(settings.volume)
    except CostEvalError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    return Plan(
        settings=settings,
        configs=configs,
        prices=prices,
        monthly_volume=volume,
        unpriced=unpriced,
    )


def load_suites(paths: Iterable[Path], settings: Settings) -> dict[str, Suite]:
    """Load suite files, checking that suite names are unique.

    Raises:
        SuiteError: a file is invalid or two files use one suite name.
    """
    suites: dict[str, Suite] = {}
    for path in paths:
        suite = load_project_suite(path, settings)
        if suite.name in suites:
            raise SuiteError(
                f"{display_path(path)}: suite name {suite.name!r} is already used by "
                f"{display_path(suites[suite.name].path)}. Give each suite a unique 'suite:'."
            )
        suites[suite.name] = suite
    return suites


def find_suite(settings: Settings, name: str) -> Suite:
    """The project's suite called ``name`` (its file first, else every suite file).

    Raises:
        SuiteError: no such suite, or its file is invalid.
    """

    for suffix in (".yaml", ".yml"):
        path = settings.suites_dir / f"{name}{suffix}"
        if path.is_file():
            suite = load_project_suite(path, settings)
            if suite.name == name:
                return suite
    suites = load_suites(suite_files(settings.suites_dir), settings)
    if name not in suites:
        raise SuiteError(
            f"no suite named {name!r} in {display_path(settings.suites_dir)}. "
            f"Suites: {', '.join(sorted(suites)) or 'none'}."
        )
    return suites[name]
