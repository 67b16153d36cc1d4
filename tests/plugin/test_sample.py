"""`harness sample`: a suite from imported production traffic that `pytest --cost-eval` runs
after recording goldens; near-duplicates once; planted PII gone (#20)."""

from __future__ import annotations

import json

import pytest

from harness.analysis.pii import redact_pii
from harness.analysis.sample import topic_labels
from harness.cli import main
from harness.config.suites import load_suite

EMAIL = "jane.doe@example.com"
PHONE = "+1 (555) 010-4477"
QUERIES = [
    ("gpt-4o-mini", "Where is my order, it has not arrived yet"),
    ("gpt-4o-mini", "where is my order it hasnt arrived yet"),  # near-duplicate of the first
    ("gpt-4o-mini", "What are your store hours?"),
    ("gpt-4o-mini", "what are your store hours"),  # exact repeat once normalized
    ("gpt-4o", f"Please update my email to {EMAIL} and call me at {PHONE} about the refund."),
    ("gpt-4o", "Compare the Trailblazer and the Summit jackets for a winter trek in Norway."),
    ("gpt-4o", "Compute 3 + 4."),  # an existing suite case: familiar, not novel
    ("gpt-4o-mini", "Do you ship to Canada, and how long does it take?"),
]


@pytest.fixture
def traffic_file(mini_project: pytest.Pytester) -> str:
    lines = [
        json.dumps(
            {
                "request": {"model": model, "messages": [{"role": "user", "content": prompt}]},
                "response": {
                    "id": f"c-{i}",
                    "model": model,
                    "usage": {"prompt_tokens": 20 + i, "completion_tokens": 10},
                },
                "time": f"2025-12-01T10:{i:02d}:00Z",
                "cost_usd": 0.001,
            }
        )
        for i, (model, prompt) in enumerate(QUERIES)
    ]
    path = mini_project.path / "prod.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_sample_writes_a_suite_pytest_runs(
    mini_project: pytest.Pytester,
    traffic_file: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(mini_project.path)
    assert main(["import", "traces", traffic_file]) == 0
    assert main(["sample", "--n", "20", "--out", "suites/prod.yaml"]) == 0
    out = capsys.readouterr().out
    assert "(1 exact repeat and 1 near-duplicate left out)" in out
    # The next step, spelt as everywhere else (`new` is the flag's default).
    assert "  pytest --cost-eval --cost-eval-update-goldens\n" in out
    path = mini_project.path / "suites" / "prod.yaml"
    text = path.read_text(encoding="utf-8")
    assert EMAIL not in text and "555" not in text and "4477" not in text
    suite = load_suite(path)
    prompts = [case.prompt for case in suite.cases]
    assert len(prompts) == 6
    assert sum("where is my order" in p.lower() for p in prompts) == 1
    assert sum("store hours" in p.lower() for p in prompts) == 1
    assert "Please update my email to [EMAIL] and call me at [PHONE] about the refund." in prompts
    familiar = [c for c in suite.cases if "familiar" in c.tags]
    assert [c.prompt for c in familiar] == ["Compute 3 + 4."]
    # Drawn again into the same file: refused without --force.
    assert main(["sample", "--n", "2", "--out", "suites/prod.yaml"]) == 2
    assert "exists" in capsys.readouterr().err

    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=4)
    assert (mini_project.path / "goldens" / "prod").is_dir()
    result = mini_project.runpytest_subprocess("--cost-eval", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    assert "prod :: small-only" in result.stdout.str()


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("write to a.b-c@mail.example.org today", "write to [EMAIL] today"),
        ("card 4111 1111 1111 1111, exp 12/29", "card [CARD], exp 12/29"),
        ("call 020 7946 0958 or +44 20 7946 0958", "call [PHONE] or [PHONE]"),
        ("order 1234 shipped on 2025-12-01", "order 1234 shipped on 2025-12-01"),
        ("it costs 12.50 for 3 items", "it costs 12.50 for 3 items"),
    ],
)
def test_pii_shapes_are_redacted_and_the_rest_kept(text: str, kept: str) -> None:
    assert redact_pii(text) == kept


def test_topics_separate_unrelated_questions() -> None:
    shipping = [
        "When will my parcel be delivered?",
        "How long does shipping to Canada take?",
        "My delivery is late, where is the parcel?",
        "Can I track the shipping of my parcel?",
    ]
    maths = [
        "Compute 17 * 23 and explain the multiplication.",
        "What is the derivative of x squared plus 3x?",
        "Solve the equation 2x + 5 = 17 for x.",
        "Integrate x squared from 0 to 3.",
    ]
    labels = topic_labels(shipping + maths, 2, seed=3)
    assert len(set(labels[:4])) == 1 and len(set(labels[4:])) == 1
    assert labels[0] != labels[4]
    assert topic_labels(shipping, 8) == [0, 0, 0, 0]  # fewer texts than topics: one topic
