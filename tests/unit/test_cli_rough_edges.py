"""The ``harness`` command's rough edges (#17): version, closed pipes, error prefixes, help."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.cli import build_parser, harness_version, main
from harness.store.runs import write_run
from tests.unit.tiny_project import evaluate, make_settings, write_suite


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results database holding one real run of the tiny project."""
    root = tmp_path_factory.mktemp("pipe")
    write_suite(root)
    settings = make_settings(root)
    write_run(settings.db, evaluate(settings, update_goldens="new"))
    return settings.db


def test_version_flag_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out == f"harness {harness_version()}\n"
    assert harness_version()[0].isdigit()


def test_help_names_the_version_first(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert f"harness {harness_version()}: evaluate" in out
    assert "--version" in out


@pytest.mark.parametrize(
    "command", [["summary", "--json"], ["history"], ["history", "--json"], ["summary"]]
)
def test_a_closed_pipe_ends_quietly(db: Path, tmp_path: Path, command: list[str]) -> None:
    """``harness summary --json | head -1``: the reader has gone before we write."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `head` having exited: every write gets EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", *command, "--db", str(db)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE, as `seq 100000 | head -1`


def test_another_broken_pipe_is_not_hidden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only a closed standard output ends quietly: a pipe breaking elsewhere is an error."""

    def broken(args: argparse.Namespace) -> int:
        raise BrokenPipeError("a provider's socket")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli.COMMANDS[0], "run", broken)
    with pytest.raises(BrokenPipeError):
        main([cli.COMMANDS[0].name])


def test_an_error_is_prefixed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message naming its command (``harness cache: ...``) is not prefixed again."""
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "--pairs", "none.jsonl", "--write-pairs", "out.jsonl"]) == 2
    err = capsys.readouterr().err
    assert "harness: harness" not in err
    assert err.startswith("harness cache: ")


def test_an_unprefixed_error_gets_the_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: ") and not err.startswith("harness: harness")


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """The parser and every subparser below it, by their prog."""
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_parsers(child))
    return found


def test_no_help_text_shows_a_doubled_percent_sign() -> None:
    """argparse formats help strings with %, not descriptions: ``%%`` must be only in help."""
    parsers = _parsers(build_parser())
    assert any(prog == "harness sweep" for prog, _ in parsers)
    for prog, parser in parsers:
        text = parser.format_help()
        assert "%%" not in text, prog
        assert "%(" not in text, prog


def test_nightly_help_says_replays_cannot_show_drift(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # argparse would wrap inside the flag's name
    with pytest.raises(SystemExit):
        main(["nightly", "--help"])
    out = capsys.readouterr().out
    assert "Replayed answers cannot show provider drift" in out
    assert "--cost-eval-record-mode all" in out


def test_the_shipped_workflow_does_not_append_the_summary_twice() -> None:
    """The run appends summary.md to $GITHUB_STEP_SUMMARY; a workflow step doing it too
    would show every table twice."""
    workflow = Path(__file__).parents[2] / "docs" / "ci" / "github-actions.yml"
    steps = [
        line for line in workflow.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    assert not [line for line in steps if "GITHUB_STEP_SUMMARY" in line]
