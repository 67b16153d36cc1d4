"""Tests for harness.scoring: the built-in scorers, their options and build_scorer."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError, MissingDependency, UnknownComponent
from harness.scoring import (
    ChoiceScorer,
    ExactScorer,
    FuzzyScorer,
    NumericScorer,
    RougeLScorer,
    Scorer,
    build_scorer,
    rouge_l_f1,
    scorers,
)
from harness.scoring.exact import extract_choice, final_number, normalize_text
from harness.types import Score

REPO = Path(__file__).resolve().parents[2]
WHERE = "suites/faq.yaml: scorer"


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep evaluate's cache writes inside tmp_path.

    evaluate reads HF_HOME once, at import; when another test imported it
    first, patching its config is what redirects Metric's cache directory.
    """
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    if "evaluate" in sys.modules:
        monkeypatch.setattr(
            sys.modules["evaluate"].config, "HF_METRICS_CACHE", tmp_path / "metrics"
        )
    return tmp_path


# --- registry and build_scorer ----------------------------------------------------


def test_builtin_names_are_registered() -> None:
    assert {"exact", "numeric", "choice", "fuzzy", "rouge_l"} <= set(scorers.names())


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("exact", ExactScorer),
        ("numeric", NumericScorer),
        ("choice", ChoiceScorer),
        ("fuzzy", FuzzyScorer),
    ],
)
def test_registry_returns_the_class(name: str, cls: type[Any]) -> None:
    factory = scorers.get(name)
    assert factory is cls
    scorer = factory()
    assert isinstance(scorer, Scorer)
    assert scorer.name == name


def test_build_scorer_from_name_and_table() -> None:
    assert isinstance(build_scorer("numeric", where=WHERE), NumericScorer)
    fuzzy = build_scorer({"name": "fuzzy", "threshold": 0.8}, where=WHERE)
    assert isinstance(fuzzy, FuzzyScorer)
    assert fuzzy.threshold == 0.8


def test_build_scorer_does_not_mutate_spec() -> None:
    spec = {"name": "fuzzy", "threshold": 0.8}
    build_scorer(spec, where=WHERE)
    assert spec == {"name": "fuzzy", "threshold": 0.8}


def test_unknown_option_names_scorer_option_and_valid_options() -> None:
    with pytest.raises(ConfigError) as info:
        scorers.get("fuzzy")(treshold=0.8)
    message = str(info.value)
    assert message.startswith(
        "scorer 'fuzzy' has no option 'treshold'. Valid options: threshold, method, ignore_case."
    )
    assert "Did you mean 'threshold'?" in message


def test_unknown_option_through_build_scorer_says_where() -> None:
    with pytest.raises(
        ConfigError, match=r"^suites/faq\.yaml: scorer: scorer 'numeric' has no option 'tol'"
    ):
        build_scorer({"name": "numeric", "tol": 0.1}, where=WHERE)


def test_option_for_scorer_without_options() -> None:
    with pytest.raises(
        ConfigError, match=r"scorer 'rouge_l' has no option 'x'\. It takes no options"
    ):
        RougeLScorer(x=1)  # type: ignore[call-arg]


def test_unknown_scorer_suggests_close_name() -> None:
    with pytest.raises(UnknownComponent) as info:
        build_scorer("exactt", where=WHERE)
    message = str(info.value)
    assert message.startswith("suites/faq.yaml: scorer: Unknown scorer 'exactt'.")
    assert "Did you mean: exact?" in message
    assert "Available: choice, evaluate, exact, fuzzy, judge, numeric, recorded, rouge_l" in message


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"threshold": 0.8}, "has no 'name'"),
        (42, "must be a name or a table, got 42"),
        (
            {"name": "fuzzy", "threshold": "high"},
            "option 'threshold' must be a number between 0 and 1, got 'high'",
        ),
        ({"name": "fuzzy", "threshold": 1.5}, "between 0 and 1, got 1.5"),
        (
            {"name": "fuzzy", "method": "wratio"},
            "option 'method' must be one of ratio, partial_ratio",
        ),
        (
            {"name": "exact", "ignore_case": "no"},
            "option 'ignore_case' must be true or false, got 'no'",
        ),
        ({"name": "numeric", "tolerance": -1}, "option 'tolerance' must be a number >= 0, got -1"),
        (
            {"name": "choice", "letters": "XYZ"},
            "option 'letters' must be distinct letters from A to J",
        ),
        ({"name": "choice", "letters": "AAB"}, "option 'letters' must be distinct letters"),
    ],
)
def test_bad_specs_raise_config_error_with_where(spec: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(spec, where=WHERE)
    assert str(info.value).startswith(f"{WHERE}: ")
    assert fragment in str(info.value)


class _UserScorer:
    name = "mine"

    def __init__(self, *, level: int = 1) -> None:
        self.level = level

    def score(self, output: str, reference: str) -> Score:
        return Score(value=1.0)


def _returns_a_class() -> type[_UserScorer]:
    return _UserScorer


def test_user_scorer_by_import_path() -> None:
    scorer = build_scorer({"name": f"{__name__}:_UserScorer", "level": 3}, where=WHERE)
    assert isinstance(scorer, _UserScorer)
    assert scorer.level == 3


def test_user_scorer_unknown_option_is_config_error_not_type_error() -> None:
    with pytest.raises(
        ConfigError, match=r"has no option 'levle'\. Valid options: level\. Did you mean 'level'"
    ):
        build_scorer({"name": f"{__name__}:_UserScorer", "levle": 3}, where=WHERE)


def test_factory_that_returns_no_scorer_is_config_error() -> None:
    with pytest.raises(ConfigError, match="which is not a scorer"):
        build_scorer(f"{__name__}:_returns_a_class", where=WHERE)


# --- exact ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "reference"),
    [
        ("Paris", "paris"),
        ("  Paris.  ", "Paris"),
        ("New   York\n", "new york"),
        ("U.S.", "US"),
        ("“Quoted”", "quoted"),
        ("STRASSE", "Straße"),
    ],
)
def test_exact_matches_after_normalization(output: str, reference: str) -> None:
    assert ExactScorer().score(output, reference).value == 1.0


@pytest.mark.parametrize(
    ("output", "reference"),
    [("Paris", "London"), ("Paris is the capital", "Paris"), ("$12", "12"), ("", "x")],
)
def test_exact_rejects_different_texts(output: str, reference: str) -> None:
    assert ExactScorer().score(output, reference).value == 0.0


def test_exact_options_turn_normalization_off() -> None:
    assert ExactScorer(ignore_case=False).score("Paris", "paris").value == 0.0
    assert ExactScorer(strip_punctuation=False).score("Paris.", "Paris").value == 0.0
    assert ExactScorer(normalize_whitespace=False).score("a  b", "a b").value == 0.0


def test_normalize_text_keeps_symbols() -> None:
    # % is Unicode punctuation (Po) and goes; $ and + are symbols (Sc, Sm) and stay.
    assert normalize_text(" It's  50%, $3+1! ") == "its 50 $3+1"


# --- numeric ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("The answer is 1,234.", "1234"),
        ("-7", "-7"),
        ("3.50", "3.5"),
        ("$12", "12"),
        ("It costs -$12.", "-12"),
        ("x = \u22127", "-7"),
        ("pages 3-5", "5"),
        ("about .5 of it", "0.5"),
        ("1e6 requests", "1000000"),
        ("12 apples, total 13", "13"),
        ("1,2345", "2345"),
        ("#### 72", "72"),
    ],
)
def test_final_number(text: str, number: str) -> None:
    from decimal import Decimal

    assert final_number(text) == Decimal(number)


def test_final_number_none() -> None:
    assert final_number("no digits here") is None


@pytest.mark.parametrize(
    ("output", "reference", "value"),
    [
        ("The answer is 1,234.", "1234", 1.0),
        ("12 apples, total 13", "13", 1.0),
        ("12 apples, total 13", "12", 0.0),
        ("3.50", "3.5", 1.0),
        ("$12", "12", 1.0),
        ("-7", "7", 0.0),
    ],
)
def test_numeric(output: str, reference: str, value: float) -> None:
    assert NumericScorer().score(output, reference).value == value


def test_numeric_tolerance() -> None:
    assert NumericScorer(tolerance=0.01).score("3.14159", "3.14").value == 1.0
    assert NumericScorer(tolerance=0.001).score("3.14159", "3.14").value == 0.0
    # Decimal, not float: 0.3 - 0.2 is exactly 0.1 and within a 0.1 tolerance.
    assert NumericScorer(tolerance=0.1).score("0.3", "0.2").value == 1.0


def test_numeric_no_number_in_output() -> None:
    assert NumericScorer().score("I don't know", "42") == Score(
        value=0.0, rationale="no number in output"
    )


def test_numeric_no_number_in_reference() -> None:
    assert NumericScorer().score("42", "unknown").rationale == "no number in reference"


# --- choice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Answer: B", "B"),
        ("(C)", "C"),
        ("The answer is D", "D"),
        ("The answer is D.", "D"),
        ("B", "B"),
        ("b", "B"),
        ("C.", "C"),
        ("**Answer:** c", "C"),
        ("The correct answer is (b), because ...", "B"),
        ("the answer would be option A", "A"),
        ("C) 42", "C"),
        ("A is tempting, but (B) is wrong and (D) is right", "D"),
        ("Option A fails. Therefore, the answer is C.", "C"),
    ],
)
def test_extract_choice(text: str, letter: str) -> None:
    assert extract_choice(text) == letter


@pytest.mark.parametrize(
    "text", ["Paris", "the answer is a trick question", "A cat sat on the mat", "(E)", ""]
)
def test_extract_choice_finds_nothing(text: str) -> None:
    assert extract_choice(text) is None


def test_choice_scorer() -> None:
    scorer = ChoiceScorer()
    assert scorer.score("After some thought, the answer is B.", "B").value == 1.0
    assert scorer.score("Answer: C", "(B)").value == 0.0
    assert scorer.score("I cannot tell", "B").rationale == "no answer letter in output"


def test_choice_letters_option_widens_the_options() -> None:
    assert ChoiceScorer().score("Answer: F", "F").value == 0.0
    assert ChoiceScorer(letters="ABCDEFGHIJ").score("Answer: F", "F").value == 1.0
    assert ChoiceScorer(letters="abcdef").letters == "ABCDEF"


# --- fuzzy ------------------------------------------------------------------------


def test_fuzzy_default_ignores_word_order_and_case() -> None:
    assert FuzzyScorer().score("World hello", "hello world").value == 1.0


def test_fuzzy_is_graded() -> None:
    value = FuzzyScorer().score("the cat sat", "the cat sat down").value
    assert 0.7 < value < 1.0
    assert FuzzyScorer().score("abc", "xyz").value == 0.0


def test_fuzzy_threshold_makes_it_binary() -> None:
    scorer = FuzzyScorer(threshold=0.8)
    assert scorer.score("the cat sat", "the cat sat down").value == 1.0
    assert scorer.score("the dog ran", "the cat sat down").value == 0.0
    assert "< threshold 0.8" in scorer.score("the dog ran", "the cat sat down").rationale


def test_fuzzy_method_and_case() -> None:
    assert FuzzyScorer(method="ratio").score("World hello", "hello world").value < 1.0
    assert FuzzyScorer(method="partial_ratio").score("hello", "well hello there").value == 1.0
    assert FuzzyScorer(ignore_case=False).score("HELLO", "hello").value == 0.0


@pytest.mark.parametrize(
    "method", ["ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio"]
)
def test_fuzzy_empty_strings_are_consistent(method: str) -> None:
    scorer = FuzzyScorer(method=method)
    assert scorer.score("", "").value == 1.0
    assert scorer.score("", "text").value == 0.0


# --- rouge_l ----------------------------------------------------------------------


def test_rouge_l_hand_computed() -> None:
    # LCS = "the cat on the mat" = 5 of 6 tokens each side: P = R = F = 5/6.
    assert rouge_l_f1("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)


def test_rouge_l_unequal_lengths() -> None:
    # LCS = "a b" = 2; P = 2/2, R = 2/4, F = 2 * 1 * 0.5 / 1.5 = 2/3.
    assert rouge_l_f1("a b", "a x b y") == pytest.approx(2 / 3)


def test_rouge_l_lowercases_and_ignores_punctuation() -> None:
    assert rouge_l_f1("The CAT, sat!", "the cat sat") == 1.0


def test_rouge_l_edge_cases() -> None:
    assert rouge_l_f1("", "") == 1.0
    assert rouge_l_f1("", "words") == 0.0
    assert rouge_l_f1("alpha", "beta") == 0.0


def test_rouge_l_scorer(hf_home: Path) -> None:
    scorer = scorers.get("rouge_l")()
    assert isinstance(scorer, RougeLScorer)
    assert scorer.score("the cat sat on the mat", "the cat is on the mat").value == pytest.approx(
        5 / 6
    )


PAIRS = [
    ("the cat sat on the mat", "the cat is on the mat"),
    ("a b", "a x b y"),
    ("Paris is the capital of France.", "The capital of France is Paris."),
    ("", "nothing matches"),
    ("completely different", "words entirely"),
]


def test_metric_equals_plain_function(hf_home: Path) -> None:
    from harness.scoring.rouge import RougeL

    metric = RougeL(keep_in_memory=True, cache_dir=str(hf_home / "metrics"))
    for prediction, reference in PAIRS:
        result = metric.compute(predictions=[prediction], references=[reference])
        assert result == {"rougeL": rouge_l_f1(prediction, reference)}
    batch = metric.compute(predictions=[p for p, _ in PAIRS], references=[r for _, r in PAIRS])
    expected = math.fsum(rouge_l_f1(p, r) for p, r in PAIRS) / len(PAIRS)
    assert batch["rougeL"] == expected


def test_metric_add_batch_then_compute(hf_home: Path) -> None:
    from harness.scoring.rouge import RougeL

    metric = RougeL(keep_in_memory=True, cache_dir=str(hf_home / "metrics"))
    for prediction, reference in PAIRS:
        metric.add(prediction=prediction, reference=reference)
    expected = math.fsum(rouge_l_f1(p, r) for p, r in PAIRS) / len(PAIRS)
    assert metric.compute() == {"rougeL": expected}


def test_metric_is_an_evaluate_metric_named_rouge_l(hf_home: Path) -> None:
    import evaluate

    from harness.scoring.rouge import RougeL

    assert issubclass(RougeL, evaluate.Metric)
    metric = RougeL(keep_in_memory=True, cache_dir=str(hf_home / "metrics"))
    assert metric.name == "rouge_l"
    assert set(metric.features) == {"predictions", "references"}
    assert pickle.loads(pickle.dumps(RougeL)) is RougeL


def test_metric_rejects_empty_batch(hf_home: Path) -> None:
    from harness.scoring.rouge import RougeL

    metric = RougeL(keep_in_memory=True, cache_dir=str(hf_home / "metrics"))
    with pytest.raises(ValueError, match="at least one"):
        metric.compute(predictions=[], references=[])


def test_rouge_l_without_evaluate_is_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.scoring import rouge

    # Forget the defined class (restored after the test) and make `import evaluate` fail.
    monkeypatch.delitem(rouge.__dict__, "RougeL", raising=False)
    monkeypatch.setitem(sys.modules, "evaluate", None)
    with pytest.raises(MissingDependency, match="pip install evaluate"):
        RougeLScorer()


def _run_python(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_scoring_does_not_import_evaluate(tmp_path: Path) -> None:
    out = _run_python(
        "import sys, harness.scoring, harness.scoring.rouge\n"
        "print(sorted(m for m in ('evaluate', 'datasets') if m in sys.modules))",
        tmp_path,
    )
    assert out == "[]"


def test_building_rouge_l_imports_evaluate(tmp_path: Path) -> None:
    out = _run_python(
        "import sys\n"
        "from harness.scoring import build_scorer\n"
        "build_scorer('rouge_l', where='x')\n"
        "print('evaluate' in sys.modules)",
        tmp_path,
    )
    assert out == "True"
