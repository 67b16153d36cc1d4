"""The `evaluate` scorer: a local metric script's result mapped to a score in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.scoring import build_scorer

# compute() returns the length ratio of prediction to reference (can exceed 1)
# and, with `both`, a second number; `sequence` makes references lists of texts.
METRIC = """\
import datasets
import evaluate


class Ratio(evaluate.Metric):
    def _info(self):
        references = datasets.Value("string")
        if {sequence}:
            references = datasets.Sequence(datasets.Value("string"))
        return evaluate.MetricInfo(
            description="length ratio", citation="", inputs_description="",
            features=datasets.Features(
                {{"predictions": datasets.Value("string"), "references": references}}
            ),
        )

    def _compute(self, predictions, references, both=False):
        reference = references[0][0] if {sequence} else references[0]
        out = {{"ratio": len(predictions[0]) / len(reference)}}
        if both:
            out["other"] = 0.5
        return out
"""


def metric_script(folder: Path, name: str = "ratio", *, sequence: bool = False) -> str:
    path = folder / f"{name}.py"
    path.write_text(METRIC.format(sequence=sequence))
    return str(path)


def test_value_under_key_is_scaled_and_clipped(tmp_path: Path) -> None:
    spec = {"name": "evaluate", "metric": metric_script(tmp_path), "key": "ratio", "scale": 4}
    scorer = build_scorer(spec, where="suite.yaml: scorer")
    assert scorer.score("abcd", "ab").value == pytest.approx(0.5)  # ratio 2, / 4
    clipped = scorer.score("a" * 20, "ab")  # ratio 10, / 4 = 2.5
    assert clipped.value == 1.0 and "clipped from 2.5" in clipped.rationale


def test_key_may_be_left_out_when_the_result_holds_one_number(tmp_path: Path) -> None:
    scorer = build_scorer(
        {"name": "evaluate", "metric": metric_script(tmp_path)}, where="suite.yaml: scorer"
    )
    assert scorer.score("ab", "abcd").value == pytest.approx(0.5)
    several = build_scorer(
        {"name": "evaluate", "metric": metric_script(tmp_path), "args": {"both": True}},
        where="suite.yaml: scorer",
    )
    with pytest.raises(ConfigError, match="returns ratio, other; say which is the score"):
        several.score("ab", "abcd")


def test_metrics_taking_lists_of_references_get_one(tmp_path: Path) -> None:
    spec = {"name": "evaluate", "metric": metric_script(tmp_path, "seq", sequence=True)}
    assert build_scorer(spec, where="s").score("abc", "abcdef").value == pytest.approx(0.5)


def test_extract_applies_before_the_metric(tmp_path: Path) -> None:
    spec = {"name": "evaluate", "metric": metric_script(tmp_path), "extract": "last_number"}
    scorer = build_scorer(spec, where="s")
    assert scorer.score("so the answer is 1234", "it is 12").value == 1.0  # "1234" / "12"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"key": "nope"}, "has no numeric result 'nope'; it returns ratio"),
        ({"scale": 0}, "option 'scale' must be a number > 0"),
        ({"metric": "metrics/missing.py"}, "no metric script at 'metrics/missing.py'"),
        ({"metric": None}, "option 'metric' must be a metric name or a path"),
        (
            {"metric": "no_such_metric_h5"},
            "'no_such_metric_h5' is not in the local evaluate cache and the harness never "
            "downloads",
        ),
    ],
)
def test_bad_options_are_one_clear_line(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    spec = {"name": "evaluate", "metric": metric_script(tmp_path), **options}
    with pytest.raises(ConfigError) as info:
        build_scorer(spec, where="suite.yaml: scorer").score("ab", "ab")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(("suite.yaml: scorer", "scorer 'evaluate'"))
