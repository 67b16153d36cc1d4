"""Bad input, fuzzed: suite YAML and JSONL, the settings table, recordings.

Property: whatever the input, the harness either accepts it or raises one of
its own errors (:class:`~harness.errors.CostEvalError`) whose message says
where the problem is: the file name, or the settings source or key. Never a
``TypeError``, ``OverflowError`` or ``UnicodeDecodeError`` from deep inside,
which pytest and the CLI would show as a traceback. What is accepted must also
be usable: a loaded suite's requests hash and serialize, its scorer builds, a
settings table prepares, an imported suite loads back with current goldens,
and a failed import leaves no temporary file behind.

Most examples start from a valid input and break one to three things in it
(a value replaced by something nasty, a key removed or added): random
structures alone rarely get past the first check. Raw text and bytes cover
the parsers.

Deterministic (``derandomize=True``, no example database) and bounded, so the
file runs in well under 30 seconds and CI runs the same examples every time.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.settings import load_settings, parse_settings
from harness.config.suites import load_goldens, load_suite
from harness.engine.prepare import prepare
from harness.errors import CostEvalError
from harness.importers.recordings import import_recordings
from harness.scoring import build_scorer
from harness.types import Request, Response

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
SOME = settings(FUZZ, max_examples=80)
FEW = settings(FUZZ, max_examples=40)

SETTINGS_PLACES = ("pyproject.toml", "[tool.cost-eval")
"""A settings error names the file, or the key to change (``[tool.cost-eval.prices."x"]``)."""


# --------------------------------------------------------------------------- values

NASTY: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -0.0,
    2**63 - 1,
    2**70,
    2**1100,  # beyond any float
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "\t\n",
    "\ud800",  # a lone surrogate: valid in JSON and YAML escapes, not encodable as UTF-8
    "x\x00y",
    "a:b",
    "sim:small",
    "replay:openai:gpt-4o",
    "../../etc/passwd",
    "1e999",
    "[",
    "é\u202e\u0301",
    [],
    {},
    [[]],
    [None],
    {"a": None},
    {1: 2, "a": 3},  # keys of mixed types
    {"name": None},
    datetime.date(2024, 1, 1),  # what YAML makes of 2024-01-01
    datetime.datetime(2024, 1, 1, 12, 0),
]
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(st.characters(), surrogates), max_size=6).map("".join),
)
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# Copied: an edit must never change (or nest into itself) the shared list above.
nasty = st.one_of(*[st.sampled_from(NASTY)] * 3, values).map(copy.deepcopy)
new_keys = st.one_of(
    st.sampled_from(["bogus", "referense", "id", "prompt", "name", "kind", "model", "usage"]),
    st.text(max_size=6),
)


def entries(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a nested document, the document's own first."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                out.append((node, key))
                stack.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                out.append((node, index))
                stack.append(value)
    return out


@st.composite
def perturbed(
    draw: st.DrawFn, base: Any, max_edits: int = 3, replacements: st.SearchStrategy[Any] = nasty
) -> Any:
    """``base`` with one to ``max_edits`` edits: a value replaced, a key removed or added."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=max_edits))):
        spots = entries(doc)
        if not spots:
            break
        parent, key = draw(st.sampled_from(range(len(spots))).map(spots.__getitem__))
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(replacements)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(new_keys)] = draw(replacements)
        else:
            parent.append(draw(replacements))
    return doc


def single_edits(base: Any, pool: list[Any] = NASTY) -> Iterator[tuple[str, Any]]:
    """Every one-edit variant of ``base``: each value replaced by each value of ``pool``,
    each key removed, a stray key added to each mapping (exhaustive, in order)."""
    for index in range(len(entries(base))):
        for variant in [*range(len(pool)), "delete", "add"]:
            doc = copy.deepcopy(base)
            parent, key = entries(doc)[index]
            if variant == "delete":
                del parent[key]
            elif variant == "add":
                if not isinstance(parent, dict):
                    continue
                parent["bogus"] = 1
            else:
                parent[key] = copy.deepcopy(pool[variant])
            yield f"{variant!r} at {key!r} (entry {index})", doc


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text``, or it with a cut, an inserted character or a duplicated slice."""
    kind = draw(st.sampled_from(["same", "same", "cut", "insert", "duplicate"]))
    if kind == "same" or not text:
        return text
    at = draw(st.integers(min_value=0, max_value=len(text)))
    if kind == "cut":
        return text[:at]
    if kind == "insert":
        return text[:at] + draw(st.sampled_from(list(":[]{}\"'#-\n\t\\&*!|>%@`,="))) + text[at:]
    return text[:at] + text[max(0, at - 20) : at] + text[at:]


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="harness-fuzz-") as name:
        yield Path(name)


def accepted_or_located(
    action: Callable[[], Any], *locations: str
) -> tuple[Any, CostEvalError | None]:
    """Run ``action``: its result, or the harness error it raised, which must name a location."""
    try:
        return action(), None
    except CostEvalError as exc:
        message = str(exc)
        assert message.strip(), "an empty error message"
        assert any(where in message for where in locations), (
            f"the error names none of {locations}: {message}"
        )
        return None, exc


def json_line(row: Any) -> str:
    """``row`` as one JSON line; what JSON cannot hold (a date) is written as Python's repr."""
    try:
        return json.dumps(row)
    except (TypeError, ValueError):
        return repr(row)


def yaml_text(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=False, sort_keys=False)
    except yaml.YAMLError:
        return repr(doc)


# --------------------------------------------------------------------------- suites


@st.composite
def valid_suites(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=4))
    cases = []
    for index in range(count):
        case: dict[str, Any] = {
            "id": f"c-{index}",
            "prompt": draw(st.sampled_from(["Compute 2 + 2.", "Capital of France?"])),
            "expected": draw(st.sampled_from(["4", "Paris"])),
            "category": draw(st.sampled_from(["easy", "hard"])),
        }
        if draw(st.booleans()):
            case["history"] = [{"role": "user", "content": "Hi."}]
            case["context"] = ["A passage."]
            case["tags"] = ["t"]
        if index and draw(st.booleans()):
            case["paraphrase_of"] = "c-0"
        cases.append(case)
    return {
        "suite": "fuzzed",
        "version": 1,
        "description": "A suite to break.",
        "scorer": draw(
            st.sampled_from(["exact", "numeric", "fuzzy", {"name": "fuzzy", "threshold": 0.8}])
        ),
        "reference": draw(st.sampled_from(["golden", "expected", "both"])),
        "params": {"temperature": 0, "max_tokens": 256},
        "gate": {"max_quality_drop": 0.03, "confidence": 0.9},
        "system": "Be brief.",
        "cases": cases,
    }


def check_suite(path: Path, *locations: str) -> None:
    suite, error = accepted_or_located(lambda: load_suite(path), path.name, *locations)
    if error is not None:
        return
    # Accepted: a run must be able to use it without a traceback.
    accepted_or_located(lambda: build_scorer(suite.scorer, where=f"{path.name}: scorer"), path.name)
    for case in suite.cases:
        request = suite.request(case, "sim:small")
        request.hash()
        texts_ = [m.content for m in request.messages] + [case.expected or "", case.category]
        json.dumps(texts_, ensure_ascii=False).encode("utf-8")  # storable as UTF-8


@FUZZ
@given(doc=valid_suites().flatmap(perturbed), data=st.data())
def test_suite_yaml(doc: dict[str, Any], data: st.DataObject) -> None:
    text = data.draw(mutated(yaml_text(doc)))
    with workdir() as root:
        path = root / "suite.yaml"
        path.write_text(text, encoding="utf-8")
        check_suite(path)


VALID_SUITE: dict[str, Any] = {
    "suite": "fuzzed",
    "version": 1,
    "description": "A suite to break.",
    "scorer": {"name": "fuzzy", "threshold": 0.8},
    "reference": "both",
    "params": {"temperature": 0, "max_tokens": 256},
    "gate": {"max_quality_drop": 0.03, "confidence": 0.9},
    "system": "Be brief.",
    "cases": [
        {
            "id": "c-0",
            "prompt": "Compute 2 + 2.",
            "expected": "4",
            "category": "easy",
            "history": [{"role": "user", "content": "Hi."}],
            "context": ["A passage."],
            "tags": ["t"],
            "knowledge_version": "v1",
        },
        {"id": "c-1", "prompt": "What is 2 plus 2?", "expected": "4", "paraphrase_of": "c-0"},
    ],
}


def test_suite_yaml_every_single_edit() -> None:
    with workdir() as root:
        path = root / "suite.yaml"
        for what, doc in single_edits(VALID_SUITE):
            path.write_text(yaml_text(doc), encoding="utf-8")
            try:
                check_suite(path)
            except Exception as exc:
                raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc


def test_suite_jsonl_every_single_edit() -> None:
    with workdir() as root:
        path = root / "suite.yaml"
        head = {k: v for k, v in VALID_SUITE.items() if k != "cases"}
        path.write_text(yaml_text({**head, "cases_file": "cases.jsonl"}), encoding="utf-8")
        for what, cases in single_edits(VALID_SUITE["cases"]):
            text = "\n".join(json_line(c) for c in cases)
            (root / "cases.jsonl").write_text(text, encoding="utf-8", errors="surrogatepass")
            try:
                check_suite(path, "cases.jsonl")
            except Exception as exc:
                raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc


@SOME
@given(doc=values)
def test_suite_yaml_random_structure(doc: Any) -> None:
    with workdir() as root:
        path = root / "suite.yaml"
        path.write_text(yaml_text(doc), encoding="utf-8")
        check_suite(path)


@SOME
@given(text=st.text(max_size=300))
def test_suite_yaml_any_text(text: str) -> None:
    with workdir() as root:
        path = root / "suite.yaml"
        path.write_text(text, encoding="utf-8")
        check_suite(path)


@FEW
@given(blob=st.binary(max_size=200), prefix=st.sampled_from([b"", b"suite: x\ncases:\n  - "]))
def test_suite_yaml_any_bytes(blob: bytes, prefix: bytes) -> None:
    with workdir() as root:
        path = root / "suite.yaml"
        path.write_bytes(prefix + blob)
        check_suite(path)


@FUZZ
@given(doc=valid_suites().flatmap(perturbed), data=st.data())
def test_suite_jsonl_cases(doc: dict[str, Any], data: st.DataObject) -> None:
    cases = doc.pop("cases", [])
    lines = [json_line(c) for c in cases] if isinstance(cases, list) else [json_line(cases)]
    text = data.draw(mutated("\n".join(lines)))
    doc["cases_file"] = "cases.jsonl"
    with workdir() as root:
        path = root / "suite.yaml"
        path.write_text(yaml_text(doc), encoding="utf-8")
        (root / "cases.jsonl").write_text(text, encoding="utf-8", errors="surrogatepass")
        check_suite(path, "cases.jsonl")


@FEW
@given(blob=st.binary(max_size=200))
def test_suite_jsonl_any_bytes(blob: bytes) -> None:
    with workdir() as root:
        path = root / "suite.yaml"
        path.write_text("suite: s\nreference: golden\ncases_file: cases.jsonl\n")
        (root / "cases.jsonl").write_bytes(b'{"id": "a", "prompt": "q"}\n' + blob)
        check_suite(path, "cases.jsonl")


# --------------------------------------------------------------------------- settings

VALID_SETTINGS: dict[str, Any] = {
    "suites": "suites",
    "goldens": "goldens",
    "db": "results/cost_eval.duckdb",
    "report": "results/report.html",
    "baseline": "sim:frontier",
    "volume": "10k/day",
    "seed": 7,
    "redact": False,
    "gate": {"max_quality_drop": 0.02, "max_error_share": 0.05, "on_inconclusive": "fail"},
    "prices": {
        "sim:frontier": {"input": 5.0, "output": 15.0},
        "sim:small": {"input": 0.15, "output": 0.6, "batch_discount": 0.5},
    },
    "providers": {"openai": {"base_url": "http://127.0.0.1:9/v1", "max_retries": 2}},
    "configs": [
        {"name": "small", "model": "sim:small", "enforce": True, "gate": {"flag_drop": 0.2}},
        {"name": "batch", "model": "sim:frontier", "batch": True},
        {"name": "cache", "model": "sim:frontier", "cache": {"kind": "exact"}},
        {"name": "trim", "model": "sim:frontier", "compress": {"kind": "keep_last", "turns": 2}},
        {
            "name": "route",
            "router": {
                "kind": "threshold",
                "score": "length",
                "strong": "sim:frontier",
                "weak": "sim:small",
                "threshold": [0.3, 0.6],
            },
            "suites": ["mini"],
        },
    ],
}


def toml_representable(value: Any) -> bool:
    """Whether a value can come out of ``tomllib`` (no None, 64-bit ints, no surrogates)."""
    if value is None:
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(toml_representable(v) for v in value)
    if isinstance(value, dict):
        return all(toml_representable(k) and toml_representable(v) for k, v in value.items())
    return True


NASTY_TOML = [v for v in NASTY if toml_representable(v)]
"""The settings table comes from TOML: only what TOML can hold can reach it."""
nasty_toml = st.one_of(*[st.sampled_from(NASTY_TOML)] * 3, values.filter(toml_representable)).map(
    copy.deepcopy
)


def check_settings(table: Any) -> None:
    settings_, error = accepted_or_located(
        lambda: parse_settings(table, root=Path("/project"), source="pyproject.toml"),
        *SETTINGS_PLACES,
    )
    if error is None:
        accepted_or_located(lambda: prepare(settings_), *SETTINGS_PLACES)


def test_valid_settings_are_accepted() -> None:
    settings_ = parse_settings(VALID_SETTINGS, root=Path("/project"), source="pyproject.toml")
    prepare(settings_)
    assert len(settings_.configs) == 6


def test_settings_every_single_edit() -> None:
    for what, table in single_edits(VALID_SETTINGS, NASTY_TOML):
        try:
            check_settings(table)
        except Exception as exc:
            raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc


@FUZZ
@given(table=perturbed(VALID_SETTINGS, replacements=nasty_toml))
def test_settings_tables(table: dict[str, Any]) -> None:
    check_settings(table)


def toml_value(value: Any) -> str | None:
    """``value`` as a TOML inline value (None: TOML cannot hold it; left out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return toml_key(value)
    if isinstance(value, list):
        items = [toml_value(v) for v in value]
        return "[" + ", ".join(i for i in items if i is not None) + "]"
    if isinstance(value, dict):
        pairs = [(toml_key(k), toml_value(v)) for k, v in value.items()]
        return "{" + ", ".join(f"{k} = {v}" for k, v in pairs if k and v is not None) + "}"
    return None


def toml_key(key: Any) -> str | None:
    if not isinstance(key, str) or any(0xD800 <= ord(c) <= 0xDFFF for c in key):
        return None
    return json.dumps(key, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_document(table: dict[str, Any]) -> str:
    lines = ["[project]", 'name = "fuzzed"', "", "[tool.cost-eval]"]
    for key, value in table.items():
        rendered, name = toml_value(value), toml_key(key)
        if rendered is not None and name is not None:
            lines.append(f"{name} = {rendered}")
    return "\n".join(lines) + "\n"


@SOME
@given(table=perturbed(VALID_SETTINGS, replacements=nasty_toml), data=st.data())
def test_settings_toml_text(table: dict[str, Any], data: st.DataObject) -> None:
    text = data.draw(mutated(toml_document(table)))
    with workdir() as root:
        (root / "pyproject.toml").write_text(text, encoding="utf-8")
        settings_, error = accepted_or_located(lambda: load_settings(root), *SETTINGS_PLACES)
        if error is None:
            accepted_or_located(lambda: prepare(settings_), *SETTINGS_PLACES)


@FEW
@given(blob=st.binary(max_size=200))
def test_settings_any_bytes(blob: bytes) -> None:
    with workdir() as root:
        (root / "pyproject.toml").write_bytes(b"[tool.cost-eval]\n" + blob)
        accepted_or_located(lambda: load_settings(root), *SETTINGS_PLACES)


ODD_DOCUMENTS = [
    "tool = 5\n",
    "[tool]\ncost-eval = 3\n",
    "[tool.cost-eval]\nconfigs = 5\n",
    '[tool.cost-eval]\nbaseline = "sim:frontier"\nproviders = {openai = 1}\n',
]


def test_settings_odd_documents() -> None:
    for text in ODD_DOCUMENTS:
        with workdir() as root:
            (root / "pyproject.toml").write_text(text)
            accepted_or_located(lambda: load_settings(root), *SETTINGS_PLACES)
    with workdir() as root:
        (root / "pyproject.toml").mkdir()  # not a file
        accepted_or_located(lambda: load_settings(root), *SETTINGS_PLACES)


# --------------------------------------------------------------------------- recordings

BASELINE = "openai:gpt-4o"
VALID_RECORDS: list[dict[str, Any]] = [
    {
        "case_id": "q-1",
        "model": BASELINE,
        "prompt": "What is 2 + 2?",
        "response": "4",
        "expected": "4",
        "category": "math",
        "usage": {"input_tokens": 12, "output_tokens": 1},
        "cost_usd": 0.00004,
        "latency_ms": 310,
        "quality": 1.0,
    },
    {
        "case_id": "q-1",
        "model": "anthropic:claude-3-5-haiku-latest",
        "prompt": "What is 2 + 2?",
        "response": "5",
        "category": "math",
        "quality": 0.0,
    },
    {
        "case_id": "q-2",
        "model": BASELINE,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi."},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "response": "Paris",
        "quality": True,
    },
]


def check_import(path: Path, out: Path, *, stream: bool = False) -> None:
    streamed: list[tuple[Request, Response]] = []
    result, error = accepted_or_located(
        lambda: import_recordings(
            [path],
            suite="imported",
            baseline=BASELINE,
            out_dir=out,
            on_response=(lambda q, r: streamed.append((q, r))) if stream else None,
        ),
        path.name,
    )
    leftovers = list(out.rglob("*.tmp")) + list(out.rglob(".staging-*"))
    assert not leftovers, f"temporary files left behind: {leftovers}"
    if error is not None:
        # All or nothing: a failed import leaves no folder behind, not even `out`.
        assert not out.exists(), sorted(out.rglob("*"))
        return
    # What was written loads back as a suite with current goldens.
    suite = load_suite(result.suite_path)
    goldens = load_goldens(out / "goldens", suite.name, BASELINE)
    for case in suite.cases:
        assert goldens[case.id].request_hash == suite.request(case, BASELINE).hash()
    if stream:
        assert result.responses == ()
        assert len({q.hash() for q, _ in streamed}) == len(streamed)


def test_valid_recordings_import() -> None:
    with workdir() as root:
        path = root / "recordings.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in VALID_RECORDS))
        check_import(path, root / "out")
        assert (root / "out" / "suites" / "imported.yaml").is_file()


def test_recordings_every_single_edit() -> None:
    with workdir() as root:
        path = root / "recordings.jsonl"
        for number, (what, records) in enumerate(single_edits(VALID_RECORDS)):
            text = "\n".join(json_line(r) for r in records)
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            try:
                check_import(path, root / f"out-{number}")
            except Exception as exc:
                raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc


@FUZZ
@given(records=perturbed(VALID_RECORDS), stream=st.booleans(), data=st.data())
def test_recordings(records: list[Any], stream: bool, data: st.DataObject) -> None:
    text = data.draw(mutated("\n".join(json_line(r) for r in records)))
    with workdir() as root:
        path = root / "recordings.jsonl"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        check_import(path, root / "out", stream=stream)


def test_streaming_import_writes_what_collecting_does() -> None:
    """``on_response`` (what a multi-gigabyte import uses) changes memory, not the result."""
    with workdir() as root:
        path = root / "recordings.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in reversed(VALID_RECORDS)))
        kept = import_recordings([path], suite="s", baseline=BASELINE, out_dir=root / "a")
        streamed: list[tuple[Request, Response]] = []
        flowed = import_recordings(
            [path],
            suite="s",
            baseline=BASELINE,
            out_dir=root / "b",
            on_response=lambda q, r: streamed.append((q, r)),
        )
        assert flowed.responses == ()
        assert {q.hash(): r for q, r in streamed} == {q.hash(): r for q, r in kept.responses}
        for name in ("suites/s.jsonl", "recorded/s.jsonl"):
            assert (root / "a" / name).read_text() == (root / "b" / name).read_text()
        goldens = load_goldens(root / "a" / "goldens", "s", BASELINE)
        assert load_goldens(root / "b" / "goldens", "s", BASELINE) == goldens
        for folder in ("a", "b"):
            for file in (root / folder).rglob("*.*"):
                assert file.stat().st_mode & 0o777 == 0o644, file


@FEW
@given(blob=st.binary(max_size=200))
def test_recordings_any_bytes(blob: bytes) -> None:
    with workdir() as root:
        path = root / "recordings.jsonl"
        good = "\n".join(json.dumps(r) for r in VALID_RECORDS) + "\n"
        path.write_bytes(good.encode() + blob)
        check_import(path, root / "out")


def test_recordings_missing_or_empty_file_is_named() -> None:
    with workdir() as root:
        path = root / "recordings.jsonl"
        check_import(path, root / "out")  # missing
        path.write_text("\n\n")
        _, error = accepted_or_located(
            lambda: import_recordings([path], suite="s", baseline=BASELINE, out_dir=root),
            path.name,
        )
        assert error is not None
