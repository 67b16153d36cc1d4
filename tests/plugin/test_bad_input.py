"""Bad input gets one clear paragraph, never a traceback.

The paragraph names the file, the case or key, what is wrong and how to fix it.
"""

from __future__ import annotations

import pytest

from tests.helpers import PYPROJECT, set_pyproject


def run(pytester: pytest.Pytester, *args: str) -> str:
    result = pytester.runpytest("--cost-eval", "-p", "no:cacheprovider", *args)
    assert result.ret != 0
    out = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in out
    assert "harness/" not in out, "a frame of the harness leaked into the output"
    return out


def test_malformed_yaml(mini_project: pytest.Pytester) -> None:
    (mini_project.path / "suites" / "mini.yaml").write_text(
        "suite: mini\ncases:\n  - id: a\n    prompt: [unclosed\n"
    )
    out = run(mini_project)
    assert "suites/mini.yaml: not valid YAML at line" in out
    assert "Fix the syntax there" in out


def test_unknown_scorer_suggests(mini_project: pytest.Pytester) -> None:
    suite = mini_project.path / "suites" / "mini.yaml"
    suite.write_text(suite.read_text().replace("scorer: numeric", "scorer: numerc"))
    out = run(mini_project, "--cost-eval-update-goldens")
    assert "suites/mini.yaml: scorer" in out
    assert "Unknown scorer 'numerc'. Did you mean: numeric?" in out


def test_unknown_suite_key(mini_project: pytest.Pytester) -> None:
    suite = mini_project.path / "suites" / "mini.yaml"
    suite.write_text(suite.read_text().replace("reference: expected", "referense: expected"))
    out = run(mini_project)
    assert "suites/mini.yaml: unknown key 'referense'. Did you mean 'reference'?" in out


def test_case_without_prompt(mini_project: pytest.Pytester) -> None:
    suite = mini_project.path / "suites" / "mini.yaml"
    suite.write_text(suite.read_text().replace('prompt: "Compute 12 - 5."', 'prompt: ""'))
    out = run(mini_project)
    assert "suites/mini.yaml: case #2 (id 'm-02'): 'prompt' must be a non-empty string" in out


def test_duplicate_case_id(mini_project: pytest.Pytester) -> None:
    suite = mini_project.path / "suites" / "mini.yaml"
    suite.write_text(suite.read_text().replace("id: m-02", "id: m-01"))
    out = run(mini_project)
    assert "case id 'm-01' is used twice" in out


def test_unknown_provider_suggests(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="").replace('model = "sim:small"', 'model = "simm:small"'),
    )
    out = run(mini_project)
    assert "ERROR:" in out
    assert "config 'small-only'" in out
    assert "Unknown provider 'simm'. Did you mean: sim?" in out


def test_unknown_sim_model_suggests(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="").replace('model = "sim:small"', 'model = "sim:smal"'),
    )
    out = run(mini_project)
    assert "Did you mean: sim:small?" in out


def test_unknown_strategy_suggests(mini_project: pytest.Pytester) -> None:
    set_pyproject(mini_project, PYPROJECT.format(small_enforce='cache = { kind = "exakt" }'))
    out = run(mini_project)
    assert "config 'small-only'.cache: Unknown cache 'exakt'. Did you mean: exact?" in out


def test_invalid_threshold(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="")
        + """
[[tool.cost-eval.configs]]
name = "route"
router = { kind = "threshold", score = "length", strong = "sim:frontier", \
weak = "sim:small", threshold = [0.5, 1.5] }
""",
    )
    out = run(mini_project)
    assert "config 'route[threshold=1.5]'" in out
    assert "'threshold' must be between 0 and 1, got 1.5" in out


def test_unknown_settings_key(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="").replace('volume = "10k/day"', 'volumen = "10k/day"'),
    )
    out = run(mini_project)
    assert "pyproject.toml [tool.cost-eval]: unknown key 'volumen'. Did you mean 'volume'?" in out


def test_missing_price(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="").replace(
            '[tool.cost-eval.prices."sim:small"]\ninput = 0.15\noutput = 0.6\n', ""
        ),
    )
    out = run(mini_project)
    assert "No price for model 'sim:small'" in out
    assert '[tool.cost-eval.prices."sim:small"]' in out


def test_missing_settings_table(mini_project: pytest.Pytester) -> None:
    set_pyproject(mini_project, "[project]\nname = 'x'\n")
    out = run(mini_project)
    assert "no [tool.cost-eval] table" in out


def test_bad_update_mode(mini_project: pytest.Pytester) -> None:
    out = run(mini_project, "--cost-eval-update-goldens=everything")
    assert "'everything' is not an update mode" in out
