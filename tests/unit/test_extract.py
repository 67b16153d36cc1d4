"""Extractors (harness.scoring.extract) and the ``extract`` option of every scorer.

Each extractor is tested on answers shaped like real ones (reasoning first, the
answer last) and on answers it must *not* read. The tests at the end read
RouteLLM's recorded GSM8K and MT-Bench answers in place from ``../shared/data``
and skip when that folder is absent.
"""

from __future__ import annotations

import csv
import json
import pickle
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError, UnknownComponent
from harness.scoring import ExtractingScorer, build_extractor, build_scorer
from harness.scoring.exact import normalize_text
from harness.scoring.extract import read_number, read_pair
from harness.types import Score
from tests.helpers import SHARED_DATA

WHERE = "suites/math.yaml: scorer"

GSM8K_STYLE = """\
Janet's ducks lay 16 eggs per day. She eats 3 for breakfast and bakes muffins with 4,
so she uses 3 + 4 = 7 eggs a day.

That leaves 16 - 7 = 9 eggs to sell.

She sells each egg for $2, so she makes 9 * $2 = $18 every day at the farmers' market."""

VERDICT_AFTER_REASONING = """\
To decide whether the second response follows the instructions, consider each
requirement in turn. The user asked for exactly three bullet points; the response
has three. It also asked for no more than 50 words: the response has 41.

One might object that the tone is informal, but no requirement about tone was
given, so that is not a reason to reject it.

[[Yes]]"""


def read(spec: str, text: str) -> str | None:
    return build_extractor(spec).read(text).value


# --- last_number ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        (GSM8K_STYLE, "18"),
        ("The total is $1,234.50.", "1234.5"),
        ("He is left with -$12 after paying.", "-12"),
        ("x = \u22127", "-7"),
        ("The trip takes 3.5 hours.", "3.5"),
        ("Her score rose by 12%.", "12"),
        ("The tank holds 1,250 L", "1250"),
        ("She pays 9 * $2 = $<<9*2=18>>18.\n#### 18", "18"),
        # The final "####" line wins over a note after it.
        ("... = 54 miles.\n#### 54\n\n(Note: 2 of the 3 roads were closed.)", "54"),
        # A number in the last box wins over the range before it (issue 14).
        ("Between 8040 and 8046 there are \\boxed{0} such numbers.", "0"),
        ("So the probability is \\boxed{\\frac{3}{4}}.", "0.75"),
        ("Each friend gets 7/2 = 3.5 slices, so 7/2.", "3.5"),
        ("It costs $40.00 - $20.00 = $20.00", "20"),
        ("On day 3, 12 eggs remain.", "12"),  # a comma after a number is not a list
        ("Running gpt-4 on 1,000 queries costs $30", "30"),
        ("Water (H2O) boils at 100 degrees", "100"),
    ],
)
def test_last_number_reads_the_answer(text: str, number: str) -> None:
    assert read("last_number", text) == number


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The answer is between 8040 and 8046.", "ends a range ('between 8040 and 8046')"),
        ("It takes 2 hours to charge from 60% to 100%.", "ends a range ('from 60% to 100')"),
        ("Expect 3-5 business days", "ends a range ('3-5')"),
        ("The prime factors are 2, 3 and 5.", "ends a list ('2, 3 and 5')"),
        ("The candidates are 2, 3, 5", "ends a list ('2, 3, 5')"),
        ("It is either $15.50 or $16", "ends a list ('$15.50 or $16')"),
        ("Sophia bought 3 onions.\n#### 3 and 1", "after the last '####' ends a list"),
        ("I could not find the number of apples.", "no number"),
        ("The problem has no solution.\n#### No valid solution.", "no number after the last"),
        ("\\boxed{x + y}", "no number in the last \\boxed{}"),
        ("\\boxed{\\frac{1}{0}}", "a fraction over 0"),
    ],
)
def test_last_number_does_not_read_ranges_lists_or_nothing(text: str, reason: str) -> None:
    reading = build_extractor("last_number").read(text)
    assert reading.value is None
    assert reason in reading.reason


def test_exact_compares_numbers_as_written() -> None:
    exact = build_scorer({"name": "exact", "extract": "last_number"}, where=WHERE)
    assert exact.score("So he is 54 miles west: -54", "#### 54").value == 0.0
    assert exact.score("Each gets 0.5 pounds", "#### 5").value == 0.0
    assert exact.score("Total: $1,234.00", "#### 1234").value == 1.0
    assert normalize_text("-3.5") == "-3.5"


def test_read_number_gives_a_decimal() -> None:
    assert read_number("$1,234.50") == (Decimal("1234.50"), "")
    assert read_number("3/8") == (Decimal("0.375"), "")


# --- boxed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("First \\boxed{12}, then corrected: the answer is \\boxed{14}.", "14"),
        ("$\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
        ("\\boxed{ \\{1, 2\\} }", "\\{1, 2\\}"),
        ("We get \\boxed {x = 3}", "x = 3"),
    ],
)
def test_boxed_reads_the_last_box(text: str, content: str) -> None:
    assert read("boxed", text) == content


@pytest.mark.parametrize(
    "text",
    [
        "The answer, boxed, is 12.",
        "boxed{12}",
        "\\boxed{\\frac{1}{2}",  # unbalanced
        "\\boxed{}",
        "\\boxed 5",
    ],
)
def test_boxed_must_not_match(text: str) -> None:
    assert read("boxed", text) is None


# --- yes_no -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        (VERDICT_AFTER_REASONING, "yes"),
        ("Reasoning...\n\nVerdict: [[NO]]", "no"),
        ("[No]", "no"),
        ("After checking both claims, **YES**.", "yes"),
        ("Final answer: no", "no"),
        ("My verdict is yes.", "yes"),
        ("No, the premise is false: 91 = 7 * 13.", "no"),
        ("Both conditions hold. So, yes.", "yes"),
        ("Is 91 prime? No.", "no"),
        # A bracketed verdict wins over a "no" in the reasoning before it.
        ("There is no doubt the code compiles, no errors.\n[[yes]]", "yes"),
    ],
)
def test_yes_no_reads_the_final_verdict(text: str, verdict: str) -> None:
    assert read("yes_no", text) == verdict


@pytest.mark.parametrize(
    "text",
    [
        "Yesterday nobody came to the meeting.",
        "I cannot say yes or no without the source.",
        "There is no answer to that.",
        "no one knows",
        "It depends on the input size.",
        "Maybe.",
        "",
    ],
)
def test_yes_no_must_not_match(text: str) -> None:
    assert read("yes_no", text) is None


# --- choice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "letter"),
    [
        ("choice", "(B)", "B"),
        ("choice", "Answer: B", "B"),
        ("choice", "Option A ignores friction. Therefore, the answer is B.", "B"),
        ("choice", "Assistant B follows the instructions better.\n\n[[B]]", "B"),
        ("choice", "**Answer:** c", "C"),
        ("choice:ABCDE", "After eliminating the others, the answer is (E).", "E"),
    ],
)
def test_choice_reads_the_letter(spec: str, text: str, letter: str) -> None:
    assert read(spec, text) == letter


@pytest.mark.parametrize(
    "text",
    [
        "A good answer would mention the boiling point.",
        "the answer is a trick question",
        "Option (E) is best",  # E is not one of A-D
        "Paris",
    ],
)
def test_choice_must_not_match(text: str) -> None:
    assert read("choice", text) is None


def test_choice_letters_must_be_valid() -> None:
    with pytest.raises(ConfigError, match="distinct letters from A to J"):
        build_extractor("choice:XYZ")


# --- answer_line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("The capital is on the Seine.\nANSWER: Paris", "Paris"),
        ("Let me compute.\n\n**Final Answer:** 42", "42"),
        ("Answer: 3\nWait, I made an error.\nFinal answer: 4", "4"),
        ("Final answer:\n\n  17 apples", "17 apples"),
        ("She makes 9 * 2 = 18.\n#### 18", "18"),
        ("The answer is: blue", "blue"),
    ],
)
def test_answer_line_reads_the_last_answer_line(text: str, answer: str) -> None:
    assert read("answer_line", text) == answer


@pytest.mark.parametrize(
    "text",
    [
        "The answer is 42.",  # a sentence, not an answer line
        "My answer: 5",  # the label does not start the line
        "Answer:",
        "no label here",
    ],
)
def test_answer_line_must_not_match(text: str) -> None:
    assert read("answer_line", text) is None


# --- json -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        ("json:answer", '{"answer": "Paris", "confidence": 0.9}', "Paris"),
        ("json:answer", 'Here you go:\n```json\n{"answer": 42}\n```\nHope it helps!', "42"),
        ("json:result.items.1.name", '{"result": {"items": [{"name": "a"}, {"name": "b"}]}}', "b"),
        # Objects in canonical form: the same object in another key order is equal.
        ("json:point", 'Answer: {"point": {"y": 2, "x": 1}}', '{"x":1,"y":2}'),
        ("json:ok", '{"ok": true}', "true"),
        # The last object in the answer counts, not an example before it.
        ("json:answer", 'Format: {"answer": "..."}. Mine: {"answer": "B"}', "B"),
    ],
)
def test_json_reads_the_field(spec: str, text: str, value: str) -> None:
    assert read(spec, text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{answer: 5}", "no JSON object"),
        ("The answer is 5.", "no JSON object"),
        ('{"result": 5}', "has no 'answer'"),
    ],
)
def test_json_must_not_match(text: str, reason: str) -> None:
    reading = build_extractor("json:answer").read(text)
    assert reading.value is None
    assert reason in reading.reason


def test_json_needs_a_path() -> None:
    with pytest.raises(ConfigError, match="give the field's dotted path"):
        build_extractor("json:")


# --- regex ------------------------------------------------------------------------


def test_regex_reads_the_group_of_the_last_match() -> None:
    text = "Subtotal: 12\nTax: 1\nTotal: 13\n(Total: excludes tips)"
    assert read(r"regex:Total: (\d+)", text) == "13"
    assert read(r"regex:Total: (\d+)", "total 13") is None


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (r"regex:(\d+", "is not a valid regex"),
        (r"regex:\d+", "exactly one group"),
        (r"regex:(\d+)-(\d+)", "has 2"),
    ],
)
def test_regex_errors(spec: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        build_extractor(spec)


# --- own extractors and unknown names ---------------------------------------------


def first_word(text: str) -> str | None:
    """A user extractor, found by import path."""
    words = text.split()
    return words[0].lower() if words else None


def test_import_path_extractor() -> None:
    extractor = build_extractor("tests.unit.test_extract:first_word")
    assert extractor.read("Paris is the capital").value == "paris"
    assert extractor.read("   ").value is None


def test_unknown_extractor_suggests_close_names() -> None:
    with pytest.raises(UnknownComponent) as info:
        build_extractor("last_nubmer")
    message = str(info.value)
    assert message.startswith("Unknown extractor 'last_nubmer'. Did you mean: last_number?")
    assert "Available: answer_line, boxed, choice, json:<path>, last_number" in message


def test_unknown_extractor_through_build_scorer_says_where() -> None:
    with pytest.raises(UnknownComponent) as info:
        build_scorer({"name": "exact", "extract": "yesno"}, where=WHERE)
    assert str(info.value).startswith(
        "suites/math.yaml: scorer: option 'extract': Unknown extractor 'yesno'. "
        "Did you mean: yes_no?"
    )


def test_extract_must_be_a_string() -> None:
    with pytest.raises(ConfigError, match=r"^suites/math\.yaml: scorer: scorer 'numeric' option"):
        build_scorer({"name": "numeric", "extract": 3}, where=WHERE)


# --- the extract option of every scorer -------------------------------------------


REASONED = "The Seine runs through it, and (B) Lyon is smaller.\nFinal answer: Paris"


@pytest.mark.parametrize(
    ("name", "output", "reference", "extracted", "whole"),
    [
        ("exact", REASONED, "ANSWER: paris", 1.0, 0.0),
        ("fuzzy", REASONED, "ANSWER: paris", 1.0, None),
        ("rouge_l", REASONED, "ANSWER: paris", 1.0, None),
        # On the whole text, numeric reads the 2 of the note after the answer.
        (
            "numeric",
            "3 rooms need 12 boxes.\nFinal answer: 12\n(Checked 2 ways.)",
            "#### 12",
            1.0,
            0.0,
        ),
        # On the whole text, choice takes the (B) of the reasoning for the answer.
        ("choice", "(B) is tempting.\nFinal answer: none of them", "Answer: B", 0.0, 1.0),
    ],
)
def test_every_text_scorer_applies_the_extractor_to_both_sides(
    name: str, output: str, reference: str, extracted: float, whole: float | None
) -> None:
    scorer = build_scorer({"name": name, "extract": "answer_line"}, where=WHERE)
    assert scorer.score(output, reference).value == extracted
    without = build_scorer(name, where=WHERE).score(output, reference).value
    assert without < 1.0 if whole is None else without == whole


@pytest.mark.parametrize("name", ["exact", "numeric", "choice", "fuzzy", "rouge_l"])
def test_an_unreadable_answer_scores_zero_and_says_why(name: str) -> None:
    scorer = build_scorer({"name": name, "extract": "yes_no"}, where=WHERE)
    score = scorer.score("It depends on the input.", "Yes")
    assert score == Score(
        value=0.0, rationale="yes_no cannot read the output: no final Yes/No verdict"
    )
    assert scorer.score("[[Yes]]", "unknown").rationale.startswith(
        "yes_no cannot read the reference"
    )


def test_exact_with_yes_no_scores_a_verdict_after_reasoning() -> None:
    exact = build_scorer({"name": "exact", "extract": "yes_no"}, where=WHERE)
    assert exact.score(VERDICT_AFTER_REASONING, "YES").value == 1.0
    assert exact.score(VERDICT_AFTER_REASONING, "[[No]]").value == 0.0
    # Without it, the whole reasoning is compared with "Yes" and never matches.
    assert build_scorer("exact", where=WHERE).score(VERDICT_AFTER_REASONING, "Yes").value == 0.0


@pytest.mark.parametrize("name", ["recorded", "judge"])
def test_extract_is_refused_where_it_cannot_apply(name: str) -> None:
    spec = {"name": name, "extract": "last_number"}
    if name == "judge":
        spec["model"] = "heuristic"
    with pytest.raises(ConfigError, match=rf"^{WHERE}: scorer '{name}' does not take 'extract'"):
        build_scorer(spec, where=WHERE)


class LengthScorer:
    """A user scorer with no ``extract`` option: 1.0 when the texts are equally long."""

    name = "length"

    def score(self, output: str, reference: str) -> Score:
        return Score(value=float(len(output) == len(reference)))


def test_a_user_scorer_gets_extract_by_wrapping() -> None:
    spec = {"name": "tests.unit.test_extract:LengthScorer", "extract": "last_number"}
    scorer = build_scorer(spec, where=WHERE)
    assert isinstance(scorer, ExtractingScorer)
    assert scorer.name == "length"
    assert scorer.score("so the total is 18", "#### 42").value == 1.0  # "18" vs "42"
    assert scorer.score("so the total is 18", "#### 420").value == 0.0


@pytest.mark.parametrize("spec", ["last_number", r"regex:Total: (\d+)", "json:a.b", "choice:ABCDE"])
def test_scorers_with_extractors_pickle(spec: str) -> None:
    # Closures (regex:, json:, choice:) are rebuilt from the spec.
    scorer = pickle.loads(
        pickle.dumps(build_scorer({"name": "exact", "extract": spec}, where=WHERE))
    )
    assert scorer.extractor.name == spec
    text = 'Total: 7 {"a": {"b": 7}} (E)'
    assert scorer.score(text, text).value == 1.0


def test_read_pair_without_extractor_passes_texts_through() -> None:
    assert read_pair(None, "a", "b") == ("a", "b")


# --- numeric: ranges and lists (issue 14) -----------------------------------------


@pytest.mark.parametrize(
    ("output", "reference", "value"),
    [
        ("Between 8040 and 8046 there are \\boxed{0} multiples of 7.", "0", 1.0),
        ("The answer lies between 8040 and 8046.", "8046", 0.0),
        ("The primes below 6 are 2, 3 and 5", "5", 0.0),
        ("It is 4 or 5", "5", 0.0),
        ("So the answer is \\boxed{\\dfrac{1}{4}}", "0.25", 1.0),
        ("It costs $20.00 in total.", "20", 1.0),
    ],
)
def test_numeric_does_not_misread_ranges_and_lists(
    output: str, reference: str, value: float
) -> None:
    assert build_scorer("numeric", where=WHERE).score(output, reference).value == value


def test_numeric_says_why_a_range_is_no_answer() -> None:
    score = build_scorer("numeric", where=WHERE).score("between 8040 and 8046", "8046")
    assert score.rationale.startswith(
        "output: the last number ends a range ('between 8040 and 8046'), not one answer"
    )


# --- real recorded answers (../shared/data) ---------------------------------------

ROUTELLM = SHARED_DATA / "routellm"
GSM8K = SHARED_DATA / "gsm8k" / "test.jsonl"
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
needs_gsm8k = pytest.mark.skipif(
    not (ROUTELLM / "gsm8k_responses.csv").is_file() or not GSM8K.is_file(),
    reason=f"RouteLLM's GSM8K recordings not found under {SHARED_DATA} (they live beside "
    "the repository in ../shared/data; CI has them)",
)


def _gsm8k_rows() -> list[tuple[dict[str, str], str]]:
    """(RouteLLM row, gold answer) for the 1,307 uncontaminated questions."""
    with (ROUTELLM / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    gold = [json.loads(line) for line in GSM8K.read_text(encoding="utf-8").splitlines()]
    contaminated = {
        json.loads(line)["eval_prompt"]
        for line in (ROUTELLM / "gsm8k_contaminated_prompts.jsonl").read_text().splitlines()
        if line.strip()
    }
    assert [r["prompt"] for r in rows] == [g["question"] for g in gold]
    return [
        (r, g["answer"]) for r, g in zip(rows, gold, strict=True) if r["prompt"] not in contaminated
    ]


@pytest.fixture(scope="module")
def gsm8k() -> list[tuple[dict[str, str], str]]:
    return _gsm8k_rows()


def _correct(scorer_spec: dict[str, Any], rows: Any, model: str) -> list[bool]:
    scorer = build_scorer(scorer_spec, where="test")
    return [scorer.score(row[f"{model}_response"], gold).value == 1.0 for row, gold in rows]


@needs_gsm8k
def test_gsm8k_last_number_accuracy(gsm8k: Any) -> None:
    assert len(gsm8k) == 1307
    spec = {"name": "exact", "extract": "last_number"}
    strong = _correct(spec, gsm8k, STRONG)
    weak = _correct(spec, gsm8k, WEAK)
    # Mixtral: 63.50 %, within 0.3 points of RouteLLM's 63.73 %.
    assert sum(weak) == 830
    assert abs(100 * sum(weak) / len(gsm8k) - 63.73) < 0.3
    # GPT-4: 88.91 %, not RouteLLM's 85.77 %: see the next test for why.
    assert sum(strong) == 1162


@needs_gsm8k
def test_gsm8k_last_number_differs_from_routellm_only_where_its_digit_rule_misreads(
    gsm8k: Any,
) -> None:
    """RouteLLM's labels compare the last run of digits, so "$20.00" reads as "00".

    On every answer whose final number is written as a plain integer, last_number
    agrees with RouteLLM's label; it differs only on decimals, fractions and
    signs (or answers it refuses to read), where the digit rule is wrong.
    """
    number = re.compile(r"[-\u2212]?\$?\d[\d,]*(?:\.\d+|/\d+)?")
    extractor = build_extractor("last_number")
    for model in (STRONG, WEAK):
        mine = _correct({"name": "exact", "extract": "last_number"}, gsm8k, model)
        differ = 0
        for (row, _), correct in zip(gsm8k, mine, strict=True):
            if correct == (row[model] == "True"):
                continue
            differ += 1
            answer = row[f"{model}_response"]
            last = number.findall(answer)[-1]
            assert extractor.read(answer).value is None or re.search(r"[-\u2212./]", last), answer
        assert differ == {STRONG: 43, WEAK: 7}[model]


@needs_gsm8k
def test_gsm8k_routellm_rule_as_a_regex_reproduces_the_published_accuracies(
    gsm8k: Any,
) -> None:
    # RouteLLM's own rule, written as a regex extractor: the last run of digits
    # (commas are dropped by exact's normalization).
    spec = {"name": "exact", "extract": r"regex:(\d[\d,]*)"}
    for model, published in ((STRONG, 85.77), (WEAK, 63.73)):
        correct = _correct(spec, gsm8k, model)
        assert round(100 * sum(correct) / len(gsm8k), 2) == published
        assert correct == [row[model] == "True" for row, _ in gsm8k]


@needs_gsm8k
def test_every_gsm8k_gold_answer_reads_the_same_by_line_and_by_number(gsm8k: Any) -> None:
    number, line = build_extractor("last_number"), build_extractor("answer_line")
    for _, gold in gsm8k:
        by_line = line.read(gold).value
        assert by_line is not None
        assert number.read(gold).value == number.read(by_line).value
        assert normalize_text(by_line) == normalize_text(by_line.replace(",", ""))


MT_BENCH = ROUTELLM / "mt_bench_strong_weak_pairs.jsonl"


@pytest.mark.skipif(not MT_BENCH.is_file(), reason=f"{MT_BENCH} not found (CI has it)")
def test_lexical_scorers_against_the_reference_disagree_with_the_judge() -> None:
    """The figure in docs/scoring.md: on MT-Bench turns with a reference answer
    where GPT-4's 1-10 scores prefer one model, which model do fuzzy and rouge_l
    prefer? (Uncontaminated questions only.)"""
    rows = [json.loads(line) for line in MT_BENCH.read_text(encoding="utf-8").splitlines()]
    pairs = [
        r
        for r in rows
        if r["reference_answer"] and not r["contaminated"] and r["strong_score"] != r["weak_score"]
    ]
    assert len(pairs) == 32
    agree = {}
    for name in ("fuzzy", "rouge_l"):
        scorer = build_scorer(name, where="test")
        votes = 0
        for r in pairs:
            strong = scorer.score(r["strong_answer"], r["reference_answer"]).value
            weak = scorer.score(r["weak_answer"], r["reference_answer"]).value
            assert strong != weak
            votes += (strong > weak) == (r["strong_score"] > r["weak_score"])
        agree[name] = votes
    assert agree == {"fuzzy": 8, "rouge_l": 12}


def test_docs_list_every_extractor() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "scoring.md").read_text()
    for name in ("last_number", "boxed", "yes_no", "choice", "answer_line", "json:", "regex:"):
        assert f"`{name}" in doc
