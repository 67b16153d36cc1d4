"""`harness monitor` against a real stored run: projected vs actual, drift, exit status (#20)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from harness.analysis.monitor import Projection, projection_model
from harness.cli import main
from harness.cli.monitor import rerun_command
from harness.config.settings import load_settings
from harness.store.runs import write_run
from harness.store.traffic import load_projection
from tests.helpers import REPO
from tests.unit.tiny_project import evaluate, write_suite

PYPROJECT = """\
[tool.cost-eval]
baseline = "sim:frontier"
volume = "10k/day"

[tool.cost-eval.prices."sim:frontier"]
input = 5.0
output = 15.0

[tool.cost-eval.prices."sim:small"]
input = 0.15
output = 0.6

[[tool.cost-eval.configs]]
name = "route"
router = { kind = "threshold", score = "length", scale = 40, strong = "sim:frontier", \
weak = "sim:small", threshold = 0.7 }

[tool.cost-eval.monitor]
config = "route"
max_tier_drift = 0.10
max_cost_drift = 0.20
"""
DAY_ONE = 1_764_547_200  # 2025-12-01T00:00:00Z
DAY = 86_400


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Projection]:
    """A project whose last run evaluated the router 'route', and that run's projection."""
    return ship(tmp_path_factory.mktemp("monitor"))


def ship(root: Path) -> tuple[Path, Projection]:
    """Make ``root`` a project whose last run evaluated 'route'; that run's projection."""
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    write_suite(root)
    settings = load_settings(root)
    write_run(settings.db, evaluate(settings, update_goldens="new"))
    projection = load_projection(settings.db, "route")
    assert 0 < projection.model_shares["sim:small"] < 1  # the router sends to both
    return root, projection


def traffic(
    path: Path, day: int, shares: dict[str, float], cost: Decimal, prompt_tokens: int
) -> None:
    """100 calls on one day, in OpenAI-log form, with the given mix and recorded cost."""
    lines = []
    index = 0
    for model, share in shares.items():
        for _ in range(round(share * 100)):
            index += 1
            lines.append(
                json.dumps(
                    {
                        "request": {"messages": [{"role": "user", "content": f"q{index}"}]},
                        "response": {
                            "id": f"{path.stem}-{index}",
                            "model": model.removeprefix("sim:"),
                            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 5},
                        },
                        "time": day + index,
                        "cost_usd": str(cost),
                        "latency_ms": 100 + index,
                    }
                )
            )
    assert index == 100
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_steady_then_drifted_traffic(
    shipped: tuple[Path, Projection],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, projection = shipped
    monkeypatch.chdir(root)
    prompt = round(projection.prompt_tokens)
    steady = root / "steady.jsonl"
    traffic(steady, DAY_ONE, dict(projection.model_shares), projection.cost_per_query, prompt)
    assert main(["import", "traces", str(steady)]) == 0
    capsys.readouterr()
    assert main(["monitor", "--fail-on-drift"]) == 0
    out = capsys.readouterr().out
    assert "steady: the latest window (2025-12-01) is within the limits." in out

    # The next day the router sends 30 points more to the strong model, at twice the cost.
    strong = min(1.0, projection.model_shares["sim:frontier"] + 0.30)
    drifted = root / "drifted.jsonl"
    doubled = projection.cost_per_query * 2
    traffic(
        drifted, DAY_ONE + DAY, {"sim:frontier": strong, "sim:small": 1 - strong}, doubled, prompt
    )
    assert main(["import", "traces", str(drifted)]) == 0
    capsys.readouterr()
    assert main(["monitor", "--fail-on-drift", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    first, second = report["windows"]
    assert first["drifted"] is False and second["drifted"] is True
    moved = round(strong * 100) / 100 - projection.model_shares["sim:frontier"]
    assert second["tier_drift"]["sim:frontier"] == pytest.approx(moved)
    assert second["tier_shares"]["sim:frontier"] == pytest.approx(round(strong * 100) / 100)
    monthly = 100 * 30  # 100 calls on one day
    assert Decimal(second["actual_monthly_cost"]) == pytest.approx(doubled * monthly)
    assert Decimal(second["projected_monthly_cost_at_observed_volume"]) == pytest.approx(
        projection.cost_per_query * monthly
    )
    assert second["cost_drift"] == pytest.approx(1.0)
    assert report["rerun"] == {
        "config": "route",
        "suites": ["tiny"],
        "command": 'pytest --cost-eval -k "route"',
    }
    assert report["projection"]["monthly_cost"] == str(projection.monthly_cost)
    # Text: the monthly figures and what to re-run; without --fail-on-drift the exit is 0.
    assert main(["monitor"]) == 0
    out = capsys.readouterr().out
    assert "projected $" in out and "/month, actual $" in out and "at the observed volume" in out
    assert "DRIFT: sim:frontier gets" in out
    assert "re-run configuration 'route' on suites tiny" in out


def test_fail_on_drift_needs_a_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["monitor", "--fail-on-drift", "--db", str(tmp_path / "x.duckdb")]) == 2
    assert "--fail-on-drift needs the configuration you shipped" in capsys.readouterr().err


def test_an_unknown_configuration_names_the_stored_ones(
    shipped: tuple[Path, Projection],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _ = shipped
    monkeypatch.chdir(root)
    assert main(["monitor", "--config", "rout"]) == 2
    err = capsys.readouterr().err
    assert "no stored run evaluated configuration 'rout'" in err and "route" in err


def test_production_names_map_to_the_configuration_models() -> None:
    models = ["openai:gpt-4o", "openai:gpt-4o-mini"]
    assert projection_model("gpt-4o-2024-08-06", models) == "openai:gpt-4o"
    assert projection_model("gpt-4o-mini-2024-07-18", models) == "openai:gpt-4o-mini"
    assert projection_model("claude-3-5-haiku", models) == "other"
    assert projection_model("ft:custom", models, {"ft:custom": "openai:gpt-4o"}) == "openai:gpt-4o"


def test_the_rerun_command_selects_a_sweep_point_in_a_real_pytest() -> None:
    """pytest's -k refuses "=": the command monitor prints must still select the point."""
    projection = Projection(
        config="route-length[threshold=0.53]",
        run_id="r",
        started_at="",
        suites=("arithmetic",),
        cost_per_query=Decimal(0),
        volume="10k/day",
        queries_per_month=300_000.0,
        model_shares={},
        cache_hit_rate=0.0,
        prompt_tokens=0.0,
    )
    command = shlex.split(rerun_command(projection))
    assert command[:2] == ["pytest", "--cost-eval"]
    collected = subprocess.run(
        [sys.executable, "-m", *command, "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    items = [line for line in collected.stdout.splitlines() if "::" in line]
    assert items and all(line.endswith("::route-length[threshold=0.53]") for line in items)


def test_a_window_of_one_query_says_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, projection = ship(tmp_path)  # its own: the module's project keeps its windows
    monkeypatch.chdir(root)
    one = root / "one.jsonl"
    record = {
        "request": {"messages": [{"role": "user", "content": "q1"}]},
        "response": {
            "id": "one-1",
            "model": "small",
            "usage": {"prompt_tokens": round(projection.prompt_tokens), "completion_tokens": 5},
        },
        "time": DAY_ONE,
        "cost_usd": str(projection.cost_per_query),
        "latency_ms": 120,
    }
    one.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert main(["import", "traces", str(one)]) == 0
    capsys.readouterr()
    main(["monitor"])
    out = capsys.readouterr().out
    assert "  1 query  " in out, out
    assert "1 queries" not in out
