"""A failed ``harness import recordings`` leaves nothing behind.

Each case runs the real command in a fresh process, against a real DuckDB
file. Whatever fails (a line that is not JSON at the very end, a duplicate
(case, model) pair, a disk that refuses to grow, a database another process
holds, a file that cannot be moved into place after the responses were
inserted), the output folder afterwards is byte for byte what it was (or
still absent), and the response store holds exactly the rows it held. A
150 MB line is refused before it is read whole, and the command's memory does
not grow with the file (``benchmarks/bench_import_memory.py`` measures it at
20, 100 and 200 MB).
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

BASELINE = "openai:gpt-4o"
OTHER = "openai:gpt-4o-mini"


def records(answer: str, cases: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "case_id": f"q-{n}",
            "model": model,
            "prompt": f"What is {n} + {n}?",
            "response": f"{answer} {2 * n}",
            "expected": str(2 * n),
            "usage": {"input_tokens": 8, "output_tokens": 2},
            "cost_usd": 0.0001,
        }
        for n in range(cases)
        for model in (BASELINE, OTHER)
    ]


def write_lines(path: Path, rows: list[dict[str, Any]], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")
    return path


def run_import(
    source: Path, out: Path, *, env: dict[str, str] | None = None, file_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``harness import recordings SOURCE --out OUT`` in a fresh process."""

    def limit_files() -> None:  # a "full disk": writing past `file_limit` bytes fails (EFBIG)
        if file_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    command = [sys.executable, "-m", "harness.cli", "import", "recordings", str(source)]
    command += ["--suite", "s", "--baseline", BASELINE, "--out", str(out)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
        preexec_fn=limit_files,
    )


LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(f'peak-rss-kib {usage.ru_maxrss}', flush=True)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
"""Runs a command and prints its peak resident memory (KiB) as its last line."""


def snapshot(folder: Path) -> dict[str, bytes | None] | None:
    """Every path under ``folder``: a file's bytes, None for a folder (None: no folder).

    The database's bytes change when DuckDB merely opens and closes it (a
    checkpoint): its rows are compared instead (:func:`stored_rows`).
    """
    if not folder.exists():
        return None
    return {
        str(p.relative_to(folder)): (
            None if p.is_dir() else b"(rows compared)" if "duckdb" in p.name else p.read_bytes()
        )
        for p in sorted(folder.rglob("*"))
        if not p.name.endswith(".wal")
    }


def stored_rows(out: Path) -> list[tuple[Any, ...]]:
    db = out / "results" / "cost_eval.duckdb"
    if not db.exists():
        return []
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(
            "SELECT request_hash, response FROM responses ORDER BY request_hash"
        ).fetchall()


MANY = 2_600
"""Cases of a failing file: 5,200 good lines (more than one chunk of a streamed store)
before the bad one, line 5,201."""
LAST = "new.jsonl: line 5201"


def bad_json_at_the_end(tmp: Path) -> Path:
    rows = records("now", cases=MANY)
    return write_lines(tmp / "new.jsonl", rows, tail='{"case_id": "q-9", "model"\n')


def duplicate_at_the_end(tmp: Path) -> Path:
    rows = records("now", cases=MANY)
    return write_lines(tmp / "new.jsonl", [*rows, rows[0]])


FAILURES: dict[str, Callable[[Path], Path]] = {
    "bad JSON on the last line": bad_json_at_the_end,
    "duplicate (case, model) on the last line": duplicate_at_the_end,
}


def check_failed(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert all(word in done.stderr for word in words), done.stderr


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_bad_last_line_leaves_no_folder_and_no_rows(tmp_path: Path, failure: str) -> None:
    out = tmp_path / "project"
    done = run_import(FAILURES[failure](tmp_path), out)
    check_failed(done, LAST)
    assert not out.exists(), snapshot(out)


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_bad_last_line_leaves_an_earlier_import_as_it_was(tmp_path: Path, failure: str) -> None:
    out = tmp_path / "project"
    first = run_import(write_lines(tmp_path / "old.jsonl", records("was")), out)
    assert first.returncode == 0, first.stderr
    before, rows = snapshot(out), stored_rows(out)
    assert len(rows) == 6

    check_failed(run_import(FAILURES[failure](tmp_path), out), LAST)
    assert snapshot(out) == before
    assert stored_rows(out) == rows


def test_a_full_disk_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "project"
    source = write_lines(tmp_path / "new.jsonl", records("now", cases=200))
    done = run_import(source, out, file_limit=16 * 1024)
    check_failed(done, "cannot write the import", "Nothing was imported")
    assert not out.exists(), snapshot(out)

    first = run_import(write_lines(tmp_path / "old.jsonl", records("was")), out)
    assert first.returncode == 0, first.stderr
    before, rows = snapshot(out), stored_rows(out)
    check_failed(run_import(source, out, file_limit=16 * 1024), "cannot write the import")
    assert snapshot(out) == before
    assert stored_rows(out) == rows


def test_a_database_held_by_another_process_leaves_the_files_unwritten(tmp_path: Path) -> None:
    out = tmp_path / "project"
    first = run_import(write_lines(tmp_path / "old.jsonl", records("was")), out)
    assert first.returncode == 0, first.stderr
    before, rows = snapshot(out), stored_rows(out)
    source = write_lines(tmp_path / "new.jsonl", records("now"))
    # Every line is fine; the store cannot be written: no suite, goldens or labels change.
    with duckdb.connect(str(out / "results" / "cost_eval.duckdb")):
        done = run_import(source, out, env={"COST_EVAL_DB_LOCK_WAIT": "0"})
    # The fix it names works for a command (--db), not only for pytest.
    check_failed(done, "another process is using the results database", "--db with the harness")
    assert snapshot(out) == before
    assert stored_rows(out) == rows


def test_a_file_that_cannot_be_placed_rolls_the_rows_back(tmp_path: Path) -> None:
    """The responses are inserted, then a file cannot be moved into place: the
    transaction is rolled back and the files already moved are put back."""
    out = tmp_path / "project"
    first = run_import(write_lines(tmp_path / "old.jsonl", records("was")), out)
    assert first.returncode == 0, first.stderr
    suite = out / "suites" / "s.yaml"
    suite.unlink()
    (suite / "in-the-way").mkdir(parents=True)  # a folder where the suite file goes
    before, rows = snapshot(out), stored_rows(out)

    done = run_import(write_lines(tmp_path / "new.jsonl", records("now")), out)
    check_failed(done, "cannot write the import", "s.yaml")
    assert snapshot(out) == before
    assert stored_rows(out) == rows
    assert all(text.startswith("was ") for _, text in rows)


def test_a_150_mb_line_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    source = tmp_path / "huge.jsonl"
    good = json.dumps(records("now", cases=1)[0]) + "\n"
    with source.open("w", encoding="utf-8") as handle:
        handle.write(good + '{"case_id": "q-1", "model": "m", "response": "')
        for _ in range(150):
            handle.write("x" * 1_000_000)
        handle.write('"}\n')
    out = tmp_path / "project"
    command = [sys.executable, "-m", "harness.cli", "import", "recordings", str(source)]
    command += ["--suite", "s", "--baseline", BASELINE, "--out", str(out)]
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        # Started by a small launcher that reports the command's peak memory: a child
        # forked from this (large) test process would count this process's pages
        # until it execs (ru_maxrss keeps the pre-exec high-water mark).
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, *command],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            check=False,
            timeout=120,
        )
    check_failed(
        subprocess.CompletedProcess(command, done.returncode, done.stdout, log.read_text()),
        "huge.jsonl: line 2 is longer than 16,777,216 bytes",
        "JSON Lines",
    )
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib // 1024} MiB"
    assert not out.exists()


def peak_rss_kib(command: list[str]) -> int:
    """Run ``command`` through the launcher; its peak RSS in KiB (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.split()[-1])


def big_recordings(path: Path, size: int) -> None:
    """About ``size`` bytes of recordings: distinct cases, 2 models, ~900-byte lines."""
    rng = random.Random(7)
    words = [
        "refund",
        "order",
        "shipping",
        "invoice",
        "account",
        "password",
        "delivery",
        "the",
        "a",
        "of",
        "to",
        "and",
    ]
    written = case = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < size:
            prompt = " ".join(rng.choices(words, k=30)) + f" {case}?"
            for model in (BASELINE, OTHER):
                line = json.dumps(
                    {
                        "case_id": f"q-{case:07d}",
                        "model": model,
                        "prompt": prompt,
                        "response": " ".join(rng.choices(words, k=90)),
                        "usage": {"input_tokens": 40, "output_tokens": 120},
                        "cost_usd": 0.0002,
                        "quality": 1.0,
                    }
                )
                handle.write(line + "\n")
                written += len(line) + 1
            case += 1


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """The whole command on 20 MB and on 50 MB: about the same peak, well under
    300 MB (before: 252 and 295 MiB)."""
    small, large = 20 << 20, 50 << 20
    peaks: dict[int, int] = {}
    for size in (small, large):
        source = tmp_path / f"rec-{size}.jsonl"
        big_recordings(source, size)
        command = [sys.executable, "-m", "harness.cli", "import", "recordings", str(source)]
        command += ["--suite", "s", "--baseline", BASELINE, "--out", str(tmp_path / str(size))]
        peaks[size] = peak_rss_kib(command) // 1024
        source.unlink()
    # About 100 MiB is the interpreter, DuckDB and our imports; DuckDB's buffers then
    # fill up to the import's 64 MB limit (147 and 164 MiB measured), nothing else grows.
    assert peaks[large] < 220, f"peak RSS {peaks[large]} MiB at 50 MiB of input"
    assert peaks[large] - peaks[small] < 30, f"peak RSS grew from {peaks}"


# --------------------------------------------------------------------------- an import killed


HOLD_TREE = """
import sys, time
from pathlib import Path
from harness.files import StagedTree

tree = StagedTree(Path(sys.argv[1]))
tree.file("suites/s.yaml").write_text("staged by a process that is then killed\\n")
if sys.argv[2] == "publish":
    tree.publish()  # the suite in place moved aside under old/, the staged one in
print("ready", flush=True)
time.sleep(120)
"""


def hold_tree(out: Path, step: str) -> subprocess.Popen[str]:
    """A process with a staged tree in ``out``, stopped at ``step`` (``stage``/``publish``)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_TREE, str(out), step], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def leftovers(out: Path) -> list[Path]:
    return sorted(out.glob(".staging-*"))


def test_the_leftover_of_an_import_killed_before_publishing_is_cleared(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    kill(hold_tree(out, "stage"))
    assert len(leftovers(out)) == 1  # SIGKILL: nothing could clean up
    done = run_import(write_lines(tmp_path / "a.jsonl", records("was")), out)
    assert done.returncode == 0, done.stderr
    assert leftovers(out) == []  # only its staged copies: deleted by the next import


def test_an_import_killed_while_publishing_stops_the_next_with_what_to_do(
    tmp_path: Path,
) -> None:
    out = tmp_path / "project"
    first = run_import(write_lines(tmp_path / "old.jsonl", records("was")), out)
    assert first.returncode == 0, first.stderr
    original = (out / "suites" / "s.yaml").read_bytes()
    kill(hold_tree(out, "publish"))
    [leftover] = leftovers(out)
    assert (leftover / "old" / "suites" / "s.yaml").read_bytes() == original
    before = snapshot(out)

    done = run_import(write_lines(tmp_path / "new.jsonl", records("now")), out)
    # The replaced suite is for a person to put back: nothing is touched, and the
    # message names the folder, the file and the fix.
    check_failed(
        done,
        f"{leftover}: an earlier import into {out} was stopped while moving its files",
        "holds 1 file(s) it had replaced (suites/s.yaml)",
        "Move each back to the same path",
    )
    assert snapshot(out) == before


def test_a_live_import_is_not_taken_for_a_leftover(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    live = hold_tree(out, "stage")
    try:
        done = run_import(write_lines(tmp_path / "a.jsonl", records("was")), out)
        assert done.returncode == 0, done.stderr
        [kept] = leftovers(out)  # the other process's tree, still in use
        assert (kept / "new" / "suites" / "s.yaml").is_file()
    finally:
        kill(live)
