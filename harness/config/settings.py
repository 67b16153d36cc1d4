"""Read ``[tool.cost-eval]``: where things are, the baseline, gates, prices and configurations.

The table lives in a settings file: the one given with ``--cost-eval-settings
PATH`` (pytest) or ``--settings PATH`` (``harness``), else ``cost-eval.toml`` in
the project folder (what ``harness import`` writes), else ``pyproject.toml``'s
``[tool.cost-eval]`` (see :func:`find_settings_file`). A settings file holds
either a ``[tool.cost-eval]`` table or the same keys at top level. Sweeps are
expanded here: a configuration whose strategy
table holds a list (``threshold = [0.3, 0.5]``) becomes one configuration per
value, named ``route[threshold=0.3]``. A threshold router with
``threshold = "sweep"`` is not expanded: it is one configuration, evaluated as a
threshold sweep (:mod:`harness.engine.router_sweep`).
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from harness.config.settings_file import SETTINGS_FLAGS, find_settings_file
from harness.config_values import check_keys, get_bool, get_float, get_str, get_table
from harness.errors import ConfigError
from harness.providers import EXTRA_OPTIONS, LOCAL_PROVIDERS, PROVIDERS, REMOTE_OPTIONS
from harness.providers.remote import ENV_NAME
from harness.stats.bootstrap import DEFAULT_SEED
from harness.stats.gates import GateSpec

SETTINGS_KEYS = (
    "suites",
    "goldens",
    "db",
    "report",
    "baseline",
    "volume",
    "seed",
    "gate",
    "prices",
    "configs",
    "providers",
    "redact",
    "cases_outside_project",
    "missing_configs",
    "monitor",  # [tool.cost-eval.monitor]: read by harness.config.monitor
    "tune",  # [tool.cost-eval.tune]: read by harness.config.tune
)
MISSING_CONFIGS = ("warn", "fail")
"""What ``--cost-eval-fail-on-regression`` does when a configuration of the compared run is
missing from this run (a ``-k`` run, a removed configuration): the ``missing_configs`` key."""
CONFIG_KEYS = (
    "name",
    "model",
    "router",
    "cache",
    "compress",
    "batch",
    "enforce",
    "gate",
    "suites",
    "description",
)
STRATEGY_SLOTS = ("compress", "cache", "router")
"""Strategy tables of a configuration, in chain order (outermost first)."""
EXAMPLE_KINDS = {"router": "threshold", "cache": "exact", "compress": "keep_last"}
MAX_SWEEP_POINTS = 1000
"""Most configurations one ``[[tool.cost-eval.configs]]`` entry may expand to."""
PRICE_KEYS = ("input", "output", "cached_input", "cache_write", "batch_discount")


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    """USD per million tokens for one model (an override of genai-prices)."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    """Rate for prompt-cache reads; defaults to ``input``."""
    cache_write: Decimal | None = None
    """Rate for prompt-cache writes; defaults to ``input``."""
    batch_discount: Decimal = Decimal("0.5")
    """Share of the price taken off for batch processing (0.5 = half price)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySpec:
    """One strategy of a configuration: its registered kind and its options."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigSpec:
    """One configuration to evaluate (after sweep expansion)."""

    name: str
    """Unique name; swept values appear in brackets: ``route[threshold=0.3]``."""
    family: str
    """The name as written, shared by every point of a sweep."""
    model: str | None
    """The model answering when no router picks one."""
    router: StrategySpec | None = None
    cache: StrategySpec | None = None
    compress: StrategySpec | None = None
    batch: bool = False
    enforce: bool = False
    """True: a failed gate fails the build. False: report only."""
    gate: GateSpec = field(default_factory=GateSpec)
    gate_overrides: Mapping[str, Any] = field(default_factory=dict)
    """The configuration's own gate table, applied over the suite's."""
    suites: tuple[str, ...] | None = None
    """Restrict to these suites; None means every suite."""
    sweep: tuple[tuple[str, Any], ...] = ()
    """The swept (key, value) pairs that produced this configuration."""
    description: str = ""

    def applies_to(self, suite: str) -> bool:
        """Whether this configuration runs on ``suite``."""
        return self.suites is None or suite in self.suites

    @property
    def is_sweep(self) -> bool:
        """A threshold router with ``threshold = "sweep"``: one item, judged as a sweep."""
        router = self.router
        return (
            router is not None
            and router.kind == "threshold"
            and router.options.get("threshold") == "sweep"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything ``[tool.cost-eval]`` says, resolved against the project root."""

    root: Path
    source: str
    """Where the settings came from, for error messages."""
    suites_dir: Path
    goldens_dir: Path
    db: Path
    report: Path
    baseline: str
    volume: str
    """Traffic for the monthly projection, as written (``"1M/day"``)."""
    seed: int
    gate: GateSpec
    prices: Mapping[str, Price]
    configs: tuple[ConfigSpec, ...]
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Options per provider prefix (``[tool.cost-eval.providers.openai]``: base_url, limits).

    May hold a key (``api_key``): never store or print these options."""
    redact: bool = False
    """Reports show a placeholder and a hash instead of case texts (prompts, outputs,
    references): for suites built from customer data."""
    cases_outside_project: bool = False
    """A suite's ``cases_file`` may lie outside ``root`` (off by default: a suite from
    someone else cannot make the run read, and send, any file it names)."""
    missing_configs: str = "warn"
    """Under ``--cost-eval-fail-on-regression``: a configuration of the compared run that
    this run did not evaluate is a warning (``"warn"``) or fails the run (``"fail"``)."""
    warnings: tuple[str, ...] = ()
    """Things that work but should change (an API key written in the file), for the
    run to print."""
    case_limit: int | None = None
    """Only the first N cases of each suite are evaluated (``--cost-eval-limit``); None:
    every case. Stored with the run so every view can say the run was limited."""


def load_settings(root: Path, config_file: str | None = None) -> Settings:
    """Read and check the settings of the project at ``root``.

    Raises:
        ConfigError: the table is missing or a value is invalid; the message
            names the file, the key and how to fix it.
    """
    found_file = find_settings_file(root, config_file)
    path, nested = found_file.path, found_file.nested
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: not found. Run from the project folder or give {SETTINGS_FLAGS}."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
            f"{exc.start}). Save the file as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}.") from None
    table: Mapping[str, Any] = document
    if nested or "tool" in document:
        tool = document.get("tool", {})
        found: Any = tool.get("cost-eval") if isinstance(tool, Mapping) else None
        if found is not None and not isinstance(found, Mapping):
            raise ConfigError(
                f"{path}: [tool.cost-eval] must be a table, got {found!r}. Write it as a "
                "[tool.cost-eval] section."
            )
        if found is None:
            raise ConfigError(
                f"{path}: no [tool.cost-eval] table. Add one naming at least the baseline "
                'model, e.g.\n\n[tool.cost-eval]\nbaseline = "sim:frontier"\n\n'
                "See the README for the full example."
            )
        table = found
    settings = parse_settings(table, root=path.parent, source=path.name)
    if found_file.note is None:
        return settings
    return replace(settings, warnings=(found_file.note, *settings.warnings))


def parse_settings(table: Mapping[str, Any], *, root: Path, source: str) -> Settings:
    """Check a ``[tool.cost-eval]`` table and expand its configurations."""
    where = f"{source} [tool.cost-eval]"
    check_keys(table, SETTINGS_KEYS, where=where)
    gate = GateSpec().merged(get_table(table, "gate", where=where), where=f"{where}.gate")
    seed = table.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{where}: 'seed' must be an integer, got {seed!r}.")
    prices = {
        model: parse_price(entry, where=f"{where}.prices.{model!r}")
        for model, entry in get_table(table, "prices", where=where).items()
    }
    raw_configs = table.get("configs", [])
    if not isinstance(raw_configs, list):
        raise ConfigError(
            f"{where}: 'configs' must be an array of tables ([[tool.cost-eval.configs]])."
        )
    configs: list[ConfigSpec] = []
    for index, raw in enumerate(raw_configs):
        cwhere = f"{where}.configs[{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{cwhere}: must be a table, got {raw!r}.")
        configs.extend(expand_config(raw, gate=gate, where=cwhere))
    seen: dict[str, int] = {}
    for spec in configs:
        if spec.name in seen or spec.name == "baseline":
            raise ConfigError(
                f"{where}: two configurations are named {spec.name!r} (or one is named "
                "'baseline', which is reserved). Give each a unique name."
            )
        seen[spec.name] = 1

    def path_of(key: str, default: str) -> Path:
        value = Path(get_str(table, key, default, where=where))
        return value if value.is_absolute() else root / value

    providers: dict[str, Mapping[str, Any]] = {}
    warnings: list[str] = []
    for prefix, options in get_table(table, "providers", where=where).items():
        providers[prefix] = parse_provider_options(
            prefix, options, where=f"{where}.providers.{prefix}", warnings=warnings
        )
    missing_configs = get_str(table, "missing_configs", "warn", where=where)
    if missing_configs not in MISSING_CONFIGS:
        raise ConfigError(
            f'{where}: \'missing_configs\' must be "warn" or "fail", got {missing_configs!r}. '
            "It says what --cost-eval-fail-on-regression does when a configuration of the "
            "compared run is missing from this run."
        )
    return Settings(
        providers=providers,
        missing_configs=missing_configs,
        redact=get_bool(table, "redact", False, where=where),
        cases_outside_project=get_bool(table, "cases_outside_project", False, where=where),
        warnings=tuple(warnings),
        root=root,
        source=source,
        suites_dir=path_of("suites", "suites"),
        goldens_dir=path_of("goldens", "goldens"),
        db=path_of("db", "results/cost_eval.duckdb"),
        report=path_of("report", "results/report.html"),
        baseline=get_str(table, "baseline", where=where),
        volume=get_str(table, "volume", "100k/day", where=where),
        seed=seed,
        gate=gate,
        prices=prices,
        configs=tuple(configs),
    )


def parse_provider_options(
    prefix: str, options: Any, *, where: str, warnings: list[str]
) -> dict[str, Any]:
    """Check one ``[tool.cost-eval.providers.<prefix>]`` table (checked here, not at the
    first call, so a typo stops the run before anything is sent or paid for).

    A literal ``api_key`` works but is reported in ``warnings``: a key written in
    ``pyproject.toml`` ends up in version control. ``api_key_env`` names the
    environment variable that holds it instead.
    """
    if not isinstance(options, Mapping):
        raise ConfigError(
            f'{where}: must be a table of options, e.g. base_url = "http://localhost:8000/v1".'
        )
    if prefix in LOCAL_PROVIDERS:
        raise ConfigError(
            f"{where}: {prefix}: models run locally and take no options. Remove the table."
        )
    if prefix not in PROVIDERS:
        remote = [p for p in PROVIDERS if p not in LOCAL_PROVIDERS]
        raise ConfigError(
            f"{where}: unknown provider {prefix!r}. Providers with options: {', '.join(remote)}."
        )
    allowed = REMOTE_OPTIONS + EXTRA_OPTIONS.get(prefix, ())
    check_keys(options, allowed, where=where)
    if "base_url" in options:
        get_str(options, "base_url", where=where)
    # Never echo these two: a key must not reach an error message.
    api_key = options.get("api_key")
    if "api_key" in options and (not isinstance(api_key, str) or not api_key.strip()):
        raise ConfigError(f"{where}: 'api_key' must be a non-empty string.")
    env_name = options.get("api_key_env")
    if "api_key_env" in options and (
        not isinstance(env_name, str) or not ENV_NAME.fullmatch(env_name)
    ):
        raise ConfigError(
            f"{where}: 'api_key_env' must be the name of an environment variable (letters, "
            "digits and '_', like MY_OPENAI_KEY), not the key itself."
        )
    if "api_key" in options and "api_key_env" in options:
        raise ConfigError(
            f"{where}: give api_key_env (the name of the environment variable holding the "
            "key), not both it and api_key."
        )
    if "api_key" in options:
        warnings.append(
            f"{where}: api_key is written in the file, where version control keeps it. "
            'Put the key in an environment variable and name it: api_key_env = "MY_KEY_VAR".'
        )
    for key in ("timeout", "requests_per_minute", "tokens_per_minute"):
        if key in options:
            value = get_float(options, key, 1.0, where=where, low=0.0, high=1e12)
            if value <= 0:
                raise ConfigError(f"{where}: {key!r} must be a number > 0, got {value!r}.")
    for key, low, high in (("max_retries", 0, 100), ("max_concurrency", 1, 10_000)):
        if key in options:
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"{where}: {key!r} must be a whole number between {low} and {high}, "
                    f"got {value!r}."
                )
    if "cache_system_prompt" in options:
        get_bool(options, "cache_system_prompt", False, where=where)
    return dict(options)


def parse_price(entry: Any, *, where: str) -> Price:
    """A price override: ``{input = 5.0, output = 15.0}`` in USD per 1M tokens."""
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a table like {{input = 2.5, output = 10.0}}.")
    check_keys(entry, PRICE_KEYS, where=where)
    values: dict[str, Decimal] = {}
    for key in PRICE_KEYS:
        if key not in entry:
            continue
        raw = entry[key]
        try:
            if isinstance(raw, bool):
                raise InvalidOperation
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ConfigError(f"{where}: {key!r} must be a number, got {raw!r}.") from None
        if not value.is_finite():
            raise ConfigError(f"{where}: {key!r} must be a finite number, got {raw!r}.")
        if value < 0 or (key == "batch_discount" and value > 1):
            raise ConfigError(f"{where}: {key!r} is out of range: {raw!r}.")
        values[key] = value
    for key in ("input", "output"):
        if key not in values:
            raise ConfigError(f"{where}: {key!r} is required (USD per million tokens).")
    return Price(**values)


def _strategy_table(raw: Any, slot: str, *, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return {"kind": raw}
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise ConfigError(
            f"{where}: {slot!r} must be a table with a 'kind', e.g. "
            f'{slot} = {{ kind = "{EXAMPLE_KINDS[slot]}" }}.'
        )
    return dict(raw)


def expand_config(raw: Mapping[str, Any], *, gate: GateSpec, where: str) -> list[ConfigSpec]:
    """One :class:`ConfigSpec` per point of the configuration's sweeps.

    Every list-valued option of a strategy table is a sweep dimension; several
    dimensions give their cartesian product.
    """
    check_keys(raw, CONFIG_KEYS, where=where)
    family = get_str(raw, "name", where=where)
    where = f"{where} (name {family!r})"
    if any(ch in family for ch in "[]: "):
        raise ConfigError(f"{where}: names may not contain spaces, ':' or brackets.")
    model = raw.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigError(f"{where}: 'model' must be a model spec like 'sim:small', got {model!r}.")
    tables = {slot: _strategy_table(raw.get(slot), slot, where=where) for slot in STRATEGY_SLOTS}
    if model is None and tables["router"] is None:
        raise ConfigError(
            f"{where}: says neither which model answers nor how to pick one. "
            'Add model = "provider:name" or a router table.'
        )
    if model is not None and tables["router"] is not None:
        raise ConfigError(
            f"{where}: has both 'model' and a router; the router picks the model. Remove one."
        )
    router_table = tables["router"] or {}
    if router_table.get("threshold") == "sweep" and (tables["cache"] or tables["compress"]):
        raise ConfigError(
            f'{where}: a threshold sweep (threshold = "sweep") judges the router alone, '
            "from each case's strong and weak answers; remove 'cache' and 'compress' (or give "
            "a fixed threshold)."
        )
    suites_value = raw.get("suites")
    suites: tuple[str, ...] | None = None
    if suites_value is not None:
        if not isinstance(suites_value, list) or not all(isinstance(s, str) for s in suites_value):
            raise ConfigError(f"{where}: 'suites' must be a list of suite names.")
        suites = tuple(suites_value)
    gate_table = get_table(raw, "gate", where=where)
    config_gate = gate.merged(gate_table, where=f"{where}.gate")
    # Sweep dimensions: (slot, key, values) for every list-valued option.
    dimensions: list[tuple[str, str, list[Any]]] = []
    for slot, table in tables.items():
        if table is None:
            continue
        for key, value in table.items():
            if isinstance(value, list):
                if not value:
                    raise ConfigError(
                        f"{where}: {slot}.{key} is an empty list; give at least one value."
                    )
                dimensions.append((slot, key, value))
    count = math.prod(len(values) for _, _, values in dimensions)
    if count > MAX_SWEEP_POINTS:
        raise ConfigError(
            f"{where}: its sweeps make {count:,} configurations, more than "
            f"{MAX_SWEEP_POINTS:,}. Sweep fewer values (a threshold router can sweep all "
            'thresholds at once with threshold = "sweep").'
        )
    keys = [key for _, key, _ in dimensions]
    points = itertools.product(*(values for _, _, values in dimensions)) if dimensions else [()]
    specs: list[ConfigSpec] = []
    for point in points:
        point_tables = {slot: dict(table) if table else None for slot, table in tables.items()}
        label_parts: list[str] = []
        for (slot, key, _), value in zip(dimensions, point, strict=True):
            point_tables[slot][key] = value  # type: ignore[index]
            label = key if keys.count(key) == 1 else f"{slot}.{key}"
            label_parts.append(f"{label}={value}")
        name = f"{family}[{','.join(label_parts)}]" if label_parts else family
        specs.append(
            ConfigSpec(
                name=name,
                family=family,
                model=model,
                router=_to_spec(point_tables["router"]),
                cache=_to_spec(point_tables["cache"]),
                compress=_to_spec(point_tables["compress"]),
                batch=get_bool(raw, "batch", False, where=where),
                enforce=get_bool(raw, "enforce", False, where=where),
                gate=config_gate,
                gate_overrides=dict(gate_table),
                suites=suites,
                sweep=tuple(
                    (label.split("=", 1)[0], value)
                    for label, value in zip(label_parts, point, strict=True)
                ),
                description=str(raw.get("description", "")),
            )
        )
    return specs


def _to_spec(table: dict[str, Any] | None) -> StrategySpec | None:
    if table is None:
        return None
    kind = table.pop("kind")
    return StrategySpec(kind=str(kind), options=table)


def settings_section(settings: Settings, name: str) -> tuple[Mapping[str, Any], str]:
    """``[tool.cost-eval.<name>]`` of the file ``settings`` came from, and where it is.

    For the tables only some commands read (``tune``, ``monitor``): parsed by
    those commands, after :func:`load_settings` checked the rest. An empty table
    when the file has none, or is gone or unreadable since it was loaded.
    """
    where = f"{settings.source} [tool.cost-eval.{name}]"
    try:
        document = tomllib.loads((settings.root / settings.source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}, where
    tool = document.get("tool")
    table: Any = document
    if isinstance(tool, Mapping) and isinstance(tool.get("cost-eval"), Mapping):
        table = tool["cost-eval"]
    return get_table(table, name, where=where), where
