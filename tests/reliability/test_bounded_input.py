"""Hostile or oversized input is refused quickly, with a located message.

A suite someone else wrote (a shared repository, a pull request) must not cost
more to read than its size, make the run read a file outside the project, or
crash the session through a custom strategy that is not one. The billion-laughs
trial runs a real ``pytest --cost-eval`` process and measures its time and peak
memory (``os.wait4``: the child's own rusage).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.config.suite_limits import (
    MAX_ALIAS_EXPANSION,
    MAX_CASE_CHARS,
    MAX_CASES_FILE_BYTES,
    MAX_LINE_BYTES,
    MAX_SUITE_BYTES,
)
from harness.config.suites import load_suite, read_jsonl
from harness.errors import SuiteError
from tests.helpers import PYPROJECT, set_pyproject

LAUGHS = 9
"""Nested anchors of ten aliases each: 10**9 strings when expanded."""


LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(f'peak-rss-kib {usage.ru_maxrss}', flush=True)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
"""Runs a command and prints its peak resident memory (KiB) as its last line."""


def billion_laughs() -> str:
    lines = ["suite: lol", "params:", f"  a0: &a0 [{', '.join(['lol'] * 10)}]"]
    for level in range(1, LAUGHS + 1):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    lines += ["cases:", "  - {id: a, prompt: hi}", ""]
    return "\n".join(lines)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def suite_error(path: Path, **options: object) -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(path, **options)  # type: ignore[arg-type]
    return str(info.value)


def run(pytester: pytest.Pytester, *args: str) -> str:
    result = pytester.runpytest("--cost-eval", "-p", "no:cacheprovider", *args)
    out = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    return out


# --------------------------------------------------------------------------- YAML


def test_billion_laughs_fails_in_a_real_run_fast_and_small(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT.format(small_enforce=""))
    write(tmp_path / "suites" / "lol.yaml", billion_laughs())
    log = (tmp_path / "out.txt").open("wb")
    # A regression must fail this test, not the machine: cap the child's memory.
    cap = 2 * 1024**3

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    started = time.monotonic()
    # The run is started by a small launcher process that reports its peak memory: a
    # child forked straight from this (large) test process would count this process's
    # pages as its own until it execs (ru_maxrss keeps the pre-exec high-water mark).
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            sys.executable,
            "-m",
            "pytest",
            "--cost-eval",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-q",
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=limit,  # no threads are started before the exec
    )
    _, status, _usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    log.close()
    out = (tmp_path / "out.txt").read_text()
    assert child.returncode not in (0, None), out
    assert "suites/lol.yaml: its aliases (*name) expand to" in out
    assert f"above the limit of {MAX_ALIAS_EXPANSION:,}" in out
    assert "Traceback" not in out and "MemoryError" not in out
    session = re.search(r"in ([\d.]+)s", out)
    assert session is not None, out
    assert float(session.group(1)) < 2.0, out  # the session, interpreter start excluded
    assert wall < 20.0
    peak = re.search(r"^peak-rss-kib (\d+)$", out, flags=re.M)
    assert peak is not None, out
    peak_mb = int(peak.group(1)) / 1024  # KiB on Linux
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"


def test_aliases_within_the_bound_still_work(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.yaml",
        "suite: s\nparams: {temperature: 0, stop: &stop [END, STOP]}\n"
        "cases:\n  - {id: a, prompt: hi, tags: *stop}\n  - {id: b, prompt: ho, tags: *stop}\n",
    )
    suite = load_suite(path)
    assert dict(suite.params)["stop"] == ["END", "STOP"]
    assert [case.tags for case in suite.cases] == [("END", "STOP"), ("END", "STOP")]


def test_a_merge_may_override_what_it_brings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.yaml",
        "suite: s\nparams:\n  <<: {temperature: 0, max_tokens: 64}\n  temperature: 1\n"
        "cases:\n  - {id: a, prompt: hi}\n",
    )
    assert dict(load_suite(path).params) == {"temperature": 1, "max_tokens": 64}


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", "suite: s\nparams: &p {x: [*p]}\ncases: []\n")
    message = suite_error(path)
    assert "s.yaml: line 2: an alias refers to the anchor it is inside of" in message


def test_duplicate_keys_name_the_file_and_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suites" / "dup.yaml",
        "suite: dup\ncases:\n  - id: a\n    prompt: first\n    prompt: second\n",
    )
    message = suite_error(path)
    assert "dup.yaml: line 5: key 'prompt' is written twice in one mapping (first at line 4)" in (
        message
    )
    path.write_text("suite: dup\nsuite: again\ncases:\n  - {id: a, prompt: x}\n")
    assert "line 2: key 'suite' is written twice" in suite_error(path)


def test_duplicate_key_in_a_real_run(mini_project: pytest.Pytester) -> None:
    suite = mini_project.path / "suites" / "mini.yaml"
    suite.write_text(
        suite.read_text().replace("reference: expected", "reference: expected\nreference: golden")
    )
    out = run(mini_project)
    assert re.search(r"suites/mini.yaml: line \d+: key 'reference' is written twice", out), out


# --------------------------------------------------------------------------- sizes


def test_a_suite_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"suite: big\ncases: []\n" + b"#" * MAX_SUITE_BYTES + b"\n")
    message = suite_error(path)
    assert "big.yaml: the suite file is larger than 8 MiB" in message
    assert "cases_file" in message


def test_a_long_jsonl_line_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    write(tmp_path / "s.yaml", "suite: s\ncases_file: cases.jsonl\n")
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(
        b'{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "' + b"x" * MAX_LINE_BYTES + b'"}\n'
    )
    message = suite_error(tmp_path / "s.yaml")
    assert f"cases.jsonl: line 2 is longer than {MAX_LINE_BYTES:,} bytes" in message
    # The same bound for every JSON Lines reader (recordings too), configurable.
    small = write(tmp_path / "r.jsonl", '{"a": 1}\n{"b": "' + "y" * 100 + '"}\n')
    with pytest.raises(SuiteError, match=r"r.jsonl: line 2 is longer than 50 bytes"):
        list(read_jsonl(small, max_line=50))


def test_a_case_over_the_character_limit_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s.yaml", "suite: s\ncases_file: cases.jsonl\n")
    prompt = "x" * (MAX_CASE_CHARS // 2)
    context = "y" * (MAX_CASE_CHARS // 2 + 1)
    write(
        tmp_path / "cases.jsonl",
        f'{{"id": "ok", "prompt": "{prompt}"}}\n'
        f'{{"id": "big", "prompt": "{prompt}", "context": ["{context}"]}}\n',
    )
    message = suite_error(tmp_path / "s.yaml")
    assert "cases.jsonl: line 2 (id 'big'): the case holds 4,000,001 characters" in message
    assert f"more than the limit of {MAX_CASE_CHARS:,}" in message


def test_a_cases_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    write(tmp_path / "s.yaml", "suite: s\ncases_file: cases.jsonl\n")
    with (tmp_path / "cases.jsonl").open("wb") as handle:
        handle.truncate(MAX_CASES_FILE_BYTES + 1)  # sparse: nothing written
    message = suite_error(tmp_path / "s.yaml")
    assert "cases_file 'cases.jsonl' holds 268,435,457 bytes, more than the 256 MiB" in message


# --------------------------------------------------------------------------- cases_file


def outside_project(pytester: pytest.Pytester, name: str) -> None:
    outside = pytester.path.parent / "outside.jsonl"
    outside.write_text('{"id": "o-1", "prompt": "Compute 2 + 2.", "expected": "4"}\n')
    (pytester.path / "suites" / "mini.yaml").write_text(
        f"suite: mini\nscorer: numeric\nreference: expected\ncases_file: {name}\n"
    )


def test_a_cases_file_outside_the_project_is_refused(mini_project: pytest.Pytester) -> None:
    outside_project(mini_project, "../../outside.jsonl")
    out = run(mini_project, "--cost-eval-update-goldens")
    assert "suites/mini.yaml: cases_file '../../outside.jsonl' lies outside the project" in out
    assert "cases_outside_project = true in [tool.cost-eval]" in out
    assert "passed" not in out


def test_a_link_inside_the_project_to_a_file_outside_is_refused(
    mini_project: pytest.Pytester,
) -> None:
    outside_project(mini_project, "cases.jsonl")
    (mini_project.path / "suites" / "cases.jsonl").symlink_to(
        mini_project.path.parent / "outside.jsonl"
    )
    out = run(mini_project, "--cost-eval-update-goldens")
    assert "cases_file 'cases.jsonl' lies outside the project" in out


def test_the_setting_allows_a_cases_file_outside(mini_project: pytest.Pytester) -> None:
    outside_project(mini_project, "../../outside.jsonl")
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="").replace(
            "[tool.cost-eval]\n", "[tool.cost-eval]\ncases_outside_project = true\n", 1
        ),
    )
    out = run(mini_project, "--cost-eval-update-goldens")
    assert "lies outside" not in out
    assert re.search(r"\d+ passed", out), out


# --------------------------------------------------------------------------- custom strategies


@pytest.mark.parametrize(
    ("slot", "table", "expected"),
    [
        ("cache", 'cache = {kind = "os:system"}', "it cannot be called as build(options, where)"),
        ("cache", 'cache = {kind = "os:sep"}', "it is a str, not callable"),
        ("cache", 'cache = {kind = "builtins:dict"}', "raised TypeError"),
        ("compress", 'compress = {kind = "os:getcwd"}', "cannot be called as build(options"),
        ("router", 'router = {kind = "operator:eq"}', "returned a bool"),
    ],
)
def test_a_custom_strategy_that_is_not_one_names_the_key(
    mini_project: pytest.Pytester, slot: str, table: str, expected: str
) -> None:
    text = PYPROJECT.format(small_enforce="")
    if slot == "router":
        text = text.replace('model = "sim:small"\n', table + "\n")
    else:
        text = text.replace('model = "sim:small"\n', 'model = "sim:small"\n' + table + "\n")
    set_pyproject(mini_project, text)
    out = run(mini_project)
    assert f"pyproject.toml [tool.cost-eval] config 'small-only' {slot}.kind:" in out, out
    assert expected in out, out
    assert "must be a function or class called as build(options, where)" in out
    if slot == "cache":
        assert "lookup(request) and store(request, answer)" in out
