"""``harness init`` (a starter project that passes offline) and ``harness validate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main

STARTER = ("pyproject.toml", "suites/arithmetic.yaml", ".gitignore")
WORKFLOW = ".github/workflows/cost-eval.yml"


def offline_env() -> dict[str, str]:
    """The environment of a CI job with no keys: answers may come only from sim: models."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["CI"] = "1"  # record mode 'none': a paid provider could not be called
    env.pop("PYTEST_ADDOPTS", None)
    return env


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A starter project written by ``harness init new-project``, from its parent folder."""
    monkeypatch.chdir(tmp_path)
    assert main(["init", "new-project"]) == 0
    return tmp_path / "new-project"


def run_offline(project: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` in ``project`` with no API keys and ``CI`` set."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=project,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_init_writes_a_project_that_passes_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "new-project"]) == 0
    project = tmp_path / "new-project"
    out = capsys.readouterr().out
    assert "next: cd new-project && python -m pytest --cost-eval" in out
    for name in (*STARTER, WORKFLOW):
        assert (project / name).is_file(), name
    assert (project / ".gitignore").read_text().splitlines()[-1] == "results/"
    goldens = (project / "goldens" / "arithmetic" / "sim_frontier.jsonl").read_text()
    assert len(goldens.splitlines()) == 10
    workflow = yaml.safe_load((project / WORKFLOW).read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["cost-eval"]["steps"]]
    assert "python -m pytest --cost-eval --junitxml=results/cost-eval.xml" in runs
    assert not any("GITHUB_STEP_SUMMARY" in run for run in runs)

    done = run_offline(project, "pytest", "--cost-eval", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS         arithmetic :: batch-frontier (enforced)" in done.stdout
    assert "3 passed" in done.stdout
    assert "0 of them to paid APIs (spent $0)" in done.stdout
    assert (project / "results" / "report.html").is_file()

    # The starter's tune table: `harness tune` finds a confirmed stack there, offline.
    tuned = run_offline(project, "harness.cli", "tune", "--json")
    assert tuned.returncode == 0, tuned.stdout + tuned.stderr
    (suite,) = json.loads(tuned.stdout)["suites"]
    assert suite["confirmed"]["confirmed"] and suite["confirmed"]["verdict"] == "pass"


def test_init_never_overwrites(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    pyproject = project / "pyproject.toml"
    pyproject.write_text("# mine\n")
    assert main(["init", "new-project"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "harness init: new-project already has pyproject.toml, suites/arithmetic.yaml, "
        ".gitignore, .github/workflows/cost-eval.yml, goldens; init never overwrites a file."
    )
    assert pyproject.read_text() == "# mine\n"
    # One existing file is enough: nothing else is written either.
    other = tmp_path / "other"
    other.mkdir()
    (other / ".gitignore").write_text("build/\n")
    assert main(["init", "other"]) == 2
    assert "other already has .gitignore;" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == [".gitignore"]


def test_init_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("my project\n")  # unrelated files are fine
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert "next: python -m pytest --cost-eval" in capsys.readouterr().out
    assert main(["validate"]) == 0


def test_validate_a_good_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    capsys.readouterr()
    assert main(["validate"]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "ok: pyproject.toml: 3 configuration(s), 1 suite(s) (arithmetic), 10 case(s), "
        "10 golden(s) recorded and current\n"
    )
    assert captured.err == ""
    assert not (project / "results").exists()  # nothing run, nothing written


def test_validate_lists_every_problem(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[[tool.cost-eval.configs]]\nname = "typo"\nmodel = "sim:small"\n'
        + 'suites = ["arithmetc"]\n'
    )
    suite = project / "suites" / "arithmetic.yaml"
    suite.write_text(suite.read_text().replace("Compute 3 + 4.", "Compute 3 + 5."))
    (project / "suites" / "broken.yaml").write_text("suite: broken\ncases: [\n")
    capsys.readouterr()
    assert main(["validate"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == "harness validate: 3 problem(s):"
    problems = lines[1:]
    assert len(problems) == 3 and all(line.startswith("  - ") for line in problems)
    assert problems[0].startswith("  - suites/broken.yaml: not valid YAML at line 3, column 1")
    assert problems[1] == (
        "  - pyproject.toml [tool.cost-eval] configuration 'typo': suites names 'arithmetc', "
        "but no suite in suites/ has that name. Did you mean 'arithmetic'? Suites: "
        "arithmetic, broken."
    )
    assert problems[2].startswith(
        "  - suites/arithmetic.yaml: 1 golden(s) are stale: recorded for a different request "
        "than the case sends now ('a-01') in goldens/arithmetic/sim_frontier.jsonl. Record "
        "them with `pytest --cost-eval --cost-eval-update-goldens`"
    )
    assert "Traceback" not in captured.err


def test_validate_bad_settings_and_an_unknown_model(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    pyproject = project / "pyproject.toml"
    good = pyproject.read_text()
    pyproject.write_text(good.replace('model = "sim:small"', 'model = "sim:tiny"'))
    capsys.readouterr()
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness validate: 1 problem(s):\n  - pyproject.toml [tool.cost-eval]")
    assert "config 'small-only': Unknown sim model" in err
    pyproject.write_text(good.replace("[tool.cost-eval.gate]", "[tool.cost-eval.gate"))
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness validate: 1 problem:\n  - ")
    assert "pyproject.toml: not valid TOML" in err
