"""Suite files (YAML, JSONL and Parquet cases) and golden files."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config.suites import (
    Suite,
    goldens_path,
    load_goldens,
    load_suite,
    model_file_name,
    suite_files,
    write_goldens,
)
from harness.errors import GoldenError, SuiteError
from harness.types import CONTEXT_PREFIX, Golden, Message, Usage


def write_suite(folder: Path, text: str, name: str = "demo.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def suite_error(folder: Path, text: str) -> str:
    path = write_suite(folder, text)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    return str(info.value)


# --------------------------------------------------------------------------- inline cases


def test_inline_suite(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        """\
        suite: demo
        version: 2
        description: A demo.
        scorer: {name: fuzzy, threshold: 0.8}
        reference: both
        params: {temperature: 0, max_tokens: 64}
        gate: {max_quality_drop: 0.03}
        system: Be brief.
        cases:
          - id: a
            prompt: Compute 1 + 2.
            expected: 3
            category: easy
            tags: [math]
          - id: 7
            prompt: What is my name?
            expected: Your name is Ada.
            system: Own system.
            context: [Doc one., Doc two.]
            history:
              - {role: user, content: My name is Ada.}
              - {role: assistant, content: Noted.}
            paraphrase_of: a
            knowledge_version: v2
        """,
    )
    suite = load_suite(path)
    assert (suite.name, suite.version, suite.description) == ("demo", 2, "A demo.")
    assert suite.scorer == {"name": "fuzzy", "threshold": 0.8}
    assert suite.reference == "both"
    assert suite.params == (("max_tokens", 64), ("temperature", 0))
    assert suite.gate_overrides == {"max_quality_drop": 0.03}
    first, second = suite.cases
    assert first.id == "a" and first.suite == "demo"
    assert first.expected == "3"  # numbers become text
    assert first.category == "easy" and first.tags == ("math",)
    assert first.system == "Be brief."  # the suite's system prompt is the default
    assert second.id == "7"  # an integer id becomes a string
    assert second.system == "Own system."
    assert second.context == ("Doc one.", "Doc two.")
    assert second.history == (
        Message(role="user", content="My name is Ada."),
        Message(role="assistant", content="Noted."),
    )
    assert second.category == "default"
    assert second.paraphrase_of == "a"
    assert second.knowledge_version == "v2"


def test_suite_name_defaults_to_file_stem_and_defaults(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "cases:\n  - {id: a, prompt: hi}\n", name="faq.yaml")
    suite = load_suite(path)
    assert suite.name == "faq"
    assert suite.scorer == "exact"
    assert suite.reference == "golden"
    assert suite.params == ()
    assert suite.version == 1


def test_suite_request_uses_params_and_case(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        """\
        params: {temperature: 0}
        cases:
          - {id: a, prompt: Compute 1 + 2., context: [Doc.], knowledge_version: "2026-10"}
        """,
    )
    suite = load_suite(path)
    request = suite.request(suite.cases[0], "sim:small")
    assert request.model == "sim:small"
    assert request.params == (("temperature", 0),)
    assert request.case_id == "a"
    assert request.knowledge_version == "2026-10"
    assert not request.batch
    assert request.messages == suite.cases[0].messages()
    assert request.messages[0].content.startswith(CONTEXT_PREFIX)


def test_suite_files_sorted_and_skips_private(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "_draft.yaml", ".hidden.yaml", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in suite_files(tmp_path)] == ["a.yml", "b.yaml"]
    assert suite_files(tmp_path / "missing") == []


# --------------------------------------------------------------------------- suite errors


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    message = suite_error(tmp_path, "cases:\n  - id: a\n    prompt: [unclosed\n")
    assert "not valid YAML at line" in message
    assert "check indentation and quoting" in message


def test_suite_must_be_a_mapping(tmp_path: Path) -> None:
    message = suite_error(tmp_path, "- a\n- b\n")
    assert "a suite must be a mapping with 'cases'" in message and "got list" in message


def test_unknown_suite_key_did_you_mean(tmp_path: Path) -> None:
    message = suite_error(tmp_path, "scorrer: exact\ncases:\n  - {id: a, prompt: hi}\n")
    assert "demo.yaml: unknown key 'scorrer'. Did you mean 'scorer'?" in message


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        ("suite: 'a b'", "'suite' must be a simple name, got 'a b'"),
        ("reference: gold", "'reference' must be one of golden, expected, both, got 'gold'"),
        ("scorer: 3", "'scorer' must be a name or a table with 'name', got 3"),
        ("params: [1]", "'params' must be a mapping like {temperature: 0}"),
        ("gate: 0.1", "'gate' must be a mapping"),
        ("gate: {confidence: 2}", "gate: 'confidence' must be a number between 0.5 and 0.999"),
        ("gate: {margin: 0.1}", "unknown key 'margin'"),
        ("version: '1'", "'version' must be an integer, got '1'"),
        ("system: [x]", "'system' must be a string"),
    ],
)
def test_suite_level_errors(tmp_path: Path, head: str, fragment: str) -> None:
    message = suite_error(tmp_path, f"{head}\ncases:\n  - {{id: a, prompt: hi}}\n")
    assert "demo.yaml: " in message
    assert fragment in message


def test_exactly_one_of_cases_and_cases_file(tmp_path: Path) -> None:
    assert "give exactly one of 'cases'" in suite_error(tmp_path, "suite: demo\n")
    both = "cases: []\ncases_file: x.jsonl\n"
    assert "give exactly one of 'cases'" in suite_error(tmp_path, both)


def test_empty_suite(tmp_path: Path) -> None:
    assert "the suite has no cases" in suite_error(tmp_path, "cases: []\n")


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("{prompt: hi}", "case #1: every case needs an 'id'"),
        ("{id: a}", "case #1 (id 'a'): 'prompt' must be a non-empty string, got None"),
        ("{id: a, prompt: ''}", "'prompt' must be a non-empty string, got ''"),
        ("{id: a, prompt: hi, promt: x}", "unknown key 'promt'. Did you mean 'prompt'?"),
        ("{id: a, prompt: hi, context: Doc}", "'context' must be a list of strings"),
        ("{id: a, prompt: hi, tags: [1]}", "'tags' must be a list of strings"),
        ("{id: a, prompt: hi, expected: [1]}", "'expected' must be text, got [1]"),
        ("hello", "a case must be a mapping with 'id' and 'prompt', got 'hello'"),
    ],
)
def test_case_errors(tmp_path: Path, case: str, fragment: str) -> None:
    message = suite_error(tmp_path, f"cases:\n  - {case}\n")
    assert fragment in message


@pytest.mark.parametrize(
    "turn",
    ["{role: tool, content: x}", "{role: user}", "{role: user, content: 3}", "just text"],
)
def test_history_turns_are_validated(tmp_path: Path, turn: str) -> None:
    message = suite_error(
        tmp_path,
        f"""\
        cases:
          - id: a
            prompt: hi
            history:
              - {{role: user, content: ok}}
              - {turn}
        """,
    )
    assert "(id 'a'): history turn 2 must be {role: user|assistant|system" in message


def test_history_must_be_a_list(tmp_path: Path) -> None:
    message = suite_error(tmp_path, "cases:\n  - {id: a, prompt: hi, history: text}\n")
    assert "'history' must be a list of {role, content} turns" in message


def test_duplicate_case_ids(tmp_path: Path) -> None:
    message = suite_error(
        tmp_path,
        "cases:\n  - {id: a, prompt: hi}\n  - {id: b, prompt: x}\n  - {id: a, prompt: y}\n",
    )
    assert "case #3" in message
    assert "case id 'a' is used twice" in message


@pytest.mark.parametrize("reference", ["expected", "both"])
def test_reference_expected_requires_expected(tmp_path: Path, reference: str) -> None:
    message = suite_error(
        tmp_path,
        f"reference: {reference}\ncases:\n"
        "  - {id: a, prompt: hi, expected: x}\n  - {id: b, prompt: hey}\n",
    )
    assert (
        f"case #2 ('b'): the suite scores against the expected answer (reference: {reference})"
        in message
    )
    assert "has no 'expected'" in message
    assert "set reference: golden" in message


def test_reference_golden_does_not_need_expected(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "reference: golden\ncases:\n  - {id: a, prompt: hi}\n")
    assert load_suite(path).cases[0].expected is None


def test_paraphrase_of_must_exist(tmp_path: Path) -> None:
    message = suite_error(
        tmp_path,
        "cases:\n  - {id: a, prompt: hi}\n  - {id: b, prompt: hello, paraphrase_of: c}\n",
    )
    assert "case 'b' says paraphrase_of 'c', which is not a case of this suite" in message


def test_paraphrase_of_may_point_forward(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        "cases:\n  - {id: b, prompt: hello, paraphrase_of: a}\n  - {id: a, prompt: hi}\n",
    )
    assert load_suite(path).cases[0].paraphrase_of == "a"


# --------------------------------------------------------------------------- cases_file


def test_cases_file_jsonl(tmp_path: Path) -> None:
    rows = [
        {"id": "j1", "prompt": "Compute 1 + 1.", "expected": "2", "category": "easy"},
        {"id": "j2", "prompt": "Hi", "history": [{"role": "user", "content": "My x is y."}]},
    ]
    (tmp_path / "cases.jsonl").write_text(
        json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n", encoding="utf-8"
    )
    suite = load_suite(write_suite(tmp_path, "suite: demo\ncases_file: cases.jsonl\n"))
    assert [c.id for c in suite.cases] == ["j1", "j2"]
    assert suite.cases[0].expected == "2" and suite.cases[0].category == "easy"
    assert suite.cases[1].history == (Message(role="user", content="My x is y."),)


def test_cases_file_jsonl_bad_line_gives_line_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "a", "prompt": "hi"}\n\n{"id": "b", "prompt": "hi",}\n', encoding="utf-8"
    )
    message = suite_error(tmp_path, "cases_file: cases.jsonl\n")
    assert message.startswith("cases.jsonl: line 3 is not valid JSON (")
    assert "Each line must be one JSON object." in message


def test_cases_file_jsonl_case_error_gives_line_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "a", "prompt": "hi"}\n{"id": "b"}\n', encoding="utf-8"
    )
    message = suite_error(tmp_path, "cases_file: cases.jsonl\n")
    assert message.startswith("cases.jsonl: line 2 (id 'b'): 'prompt' must be a non-empty string")


def test_cases_file_missing_and_wrong_suffix(tmp_path: Path) -> None:
    assert "cases_file 'nope.jsonl' not found" in suite_error(tmp_path, "cases_file: nope.jsonl\n")
    (tmp_path / "cases.csv").write_text("id,prompt\n")
    message = suite_error(tmp_path, "cases_file: cases.csv\n")
    assert "cases_file 'cases.csv' must end in .jsonl or .parquet" in message
    assert "'cases_file' must be a file name, got 3" in suite_error(tmp_path, "cases_file: 3\n")


def test_cases_file_parquet_through_datasets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    monkeypatch.chdir(tmp_path)
    table = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "prompt": ["Compute 2 + 2.", "What is my name?", "Which doc?"],
            "expected": ["4", None, None],
            "category": ["easy", None, "docs"],
            "context": [[], [], ["Alpha doc.", "Beta doc."]],
            "history": [
                [],
                [{"role": "user", "content": "My name is Bo."}],
                [],
            ],
        }
    )
    pq.write_table(table, tmp_path / "cases.parquet")
    suite = load_suite(write_suite(tmp_path, "cases_file: cases.parquet\n"))
    assert [c.id for c in suite.cases] == ["p1", "p2", "p3"]
    p1, p2, p3 = suite.cases
    assert p1.expected == "4" and p1.category == "easy" and p1.context == ()
    assert p2.expected is None and p2.category == "default"
    assert p2.history == (Message(role="user", content="My name is Bo."),)
    assert p3.context == ("Alpha doc.", "Beta doc.")


def test_cases_file_parquet_bad_row_gives_row_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    monkeypatch.chdir(tmp_path)
    pq.write_table(pa.table({"id": ["a", "b"], "prompt": ["hi", ""]}), tmp_path / "cases.parquet")
    message = suite_error(tmp_path, "cases_file: cases.parquet\n")
    assert message.startswith("cases.parquet: row 2 (id 'b'): 'prompt' must be a non-empty")


# --------------------------------------------------------------------------- goldens


def golden(case_id: str, text: str = "The answer is 4.", **kw: object) -> Golden:
    fields: dict[str, object] = {
        "case_id": case_id,
        "model": "sim:frontier",
        "request_hash": "ab" * 16,
        "text": text,
        "usage": Usage(input_tokens=12, output_tokens=5),
        "latency_ms": 640.5,
        "recorded_at": "2026-11-26T13:15:00+00:00",
    }
    fields.update(kw)
    return Golden(**fields)  # type: ignore[arg-type]


def test_model_file_name() -> None:
    assert model_file_name("sim:frontier") == "sim_frontier.jsonl"
    assert model_file_name("openai:gpt-4o/mini v2") == "openai_gpt-4o_mini_v2.jsonl"
    assert goldens_path(Path("/g"), "faq", "sim:small") == Path("/g/faq/sim_small.jsonl")


def test_goldens_round_trip(tmp_path: Path) -> None:
    goldens = [
        golden("a"),
        golden(
            "b",
            "Ünïcode ✓ answer\nwith a newline",
            usage=Usage(
                input_tokens=1,
                cached_input_tokens=2,
                cache_write_tokens=3,
                output_tokens=4,
                reasoning_tokens=1,
            ),
        ),
        golden("c", usage=Usage()),
    ]
    path = goldens_path(tmp_path / "goldens", "demo", "sim:frontier")
    write_goldens(path, goldens)
    loaded = load_goldens(tmp_path / "goldens", "demo", "sim:frontier")
    assert list(loaded) == ["a", "b", "c"]
    assert list(loaded.values()) == goldens
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert list(first) == [
        "schema_version",
        "case_id",
        "model",
        "request_hash",
        "response",
        "usage",
        "latency_ms",
        "recorded_at",
    ]
    assert first["schema_version"] == 1
    assert first["usage"] == {"input_tokens": 12, "output_tokens": 5}  # zeros left out
    assert "✓" in lines[1]  # not escaped: reviews well in a diff


def test_write_goldens_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "sim_frontier.jsonl"
    write_goldens(path, [golden("a")])
    assert [p.name for p in path.parent.iterdir()] == ["sim_frontier.jsonl"]

    def broken() -> Iterator[Golden]:
        yield golden("x")
        raise RuntimeError("disk on fire")

    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_goldens(path, broken())
    # The old file is intact and no temporary file is left behind.
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["sim_frontier.jsonl"]


def test_write_goldens_replaces_file(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "sim_frontier.jsonl"
    write_goldens(path, [golden("a"), golden("b")])
    write_goldens(path, [golden("b", "new")])
    loaded = load_goldens(tmp_path, "demo", "sim:frontier")
    assert list(loaded) == ["b"] and loaded["b"].text == "new"


def test_load_goldens_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_goldens(tmp_path, "demo", "sim:frontier") == {}


@pytest.mark.parametrize(
    ("bad_line", "kind"),
    [
        ("{not json", "JSONDecodeError"),
        ('{"case_id": "b", "model": "sim:frontier", "response": "x"}', "KeyError"),
        (
            '{"case_id": "b", "model": "m", "request_hash": "h", "response": "x", '
            '"usage": {"bogus_tokens": 1}}',
            "TypeError",
        ),
        (
            '{"case_id": "b", "model": "m", "request_hash": "h", "response": "x", '
            '"latency_ms": "slow"}',
            "ValueError",
        ),
    ],
)
def test_malformed_golden_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_line: str, kind: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "demo" / "sim_frontier.jsonl"
    write_goldens(path, [golden("a")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n" + bad_line + "\n")
    with pytest.raises(GoldenError) as info:
        load_goldens(tmp_path, "demo", "sim:frontier")
    message = str(info.value)
    assert message.startswith(f"demo/sim_frontier.jsonl: line 3 is not a valid golden ({kind}")
    assert "--cost-eval-update-goldens" in message


def test_suite_is_frozen(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, "cases:\n  - {id: a, prompt: hi}\n"))
    assert isinstance(suite, Suite)
    with pytest.raises(AttributeError):
        suite.name = "x"  # type: ignore[misc]
