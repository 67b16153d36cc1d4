"""Request leases between processes (harness.store.leases), with real processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from harness.store.leases import FileLeases, LeaseClaim, leases_dir
from harness.types import Message, Request, Response, Usage

REQUEST = Request(model="openai:gpt-4o", messages=(Message(role="user", content="2+2?"),))
ANSWER = Response(text="4", model="openai:gpt-4o", usage=Usage(input_tokens=5, output_tokens=1))

HOLDER = """
import asyncio, sys, time
from pathlib import Path
from harness.store.leases import FileLeases
leases = FileLeases(Path(sys.argv[1]))
leases.open()
claim = asyncio.run(leases.claim(sys.argv[2]))
print("held", flush=True)
time.sleep(60)
"""


def settled_by(leases: FileLeases, key: str) -> None:
    """``leases`` pays for ``key`` and leaves the answer in its lease."""
    held = claim(leases, key)
    assert held.answer is None
    held.settle(key, REQUEST, ANSWER)
    held.release()


def two_runs(db: Path) -> tuple[FileLeases, FileLeases]:
    """Two processes' leases on ``db``, both announced."""
    runs = FileLeases(db), FileLeases(db)
    for leases in runs:
        leases.open()
    return runs


def claim(leases: FileLeases, key: str, *, fresh: bool = False) -> LeaseClaim:
    return asyncio.run(leases.claim(key, fresh=fresh))


def test_an_answer_left_in_a_lease_is_found_by_the_next_process(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    key = REQUEST.hash()
    first, second = two_runs(db)
    settled_by(first, key)  # nobody paid yet: the first caller calls
    found = claim(second, key)
    assert found.answer is not None and found.answer.text == "4"
    assert found.answer.usage == ANSWER.usage
    assert second.shared == 1
    found.release()
    # Re-recording wants an answer newer than the run: a lease from before is not one.
    later = FileLeases(db, since=time.time() + 1)
    later.open()
    stale = claim(later, key, fresh=True)
    assert stale.answer is None
    stale.release()
    for leases in (first, second, later):
        leases.close()
    assert not leases_dir(db).exists()  # the last to leave cleared them


def test_a_waiter_gets_the_lease_when_its_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    key = REQUEST.hash()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), key], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    waiter = FileLeases(db)
    waiter.open()

    async def wait_then_kill() -> tuple[bool, float]:
        task = asyncio.ensure_future(waiter.claim(key))
        await asyncio.sleep(0.5)
        assert not task.done(), "the lease was granted while another process held it"
        holder.kill()
        killed = time.monotonic()
        got = await task
        waited = got.waited and got.answer is None  # the dead holder left no answer
        got.release()
        return waited, time.monotonic() - killed

    waited, delay = asyncio.run(wait_then_kill())
    holder.communicate(timeout=10)
    assert waited
    assert delay < 1.0
    waiter.close()


def test_leases_are_kept_while_another_run_is_alive(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    key = REQUEST.hash()
    alive, leaving = two_runs(db)
    settled_by(leaving, key)
    leaving.close()
    # `alive` may have read the store before the answer was stored: it still finds it.
    found = claim(alive, key)
    assert found.answer is not None
    found.release()
    alive.close()
    assert not leases_dir(db).exists()


def test_a_new_run_alone_clears_leases_a_dead_run_left(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    folder = leases_dir(db)
    folder.mkdir(parents=True)
    (folder / ("0" * 16)).write_text('{"key": "half a line')
    leases = FileLeases(db)
    leases.open()
    assert sorted(p.name for p in folder.iterdir()) == [".runs"]
    leases.close()


def test_leases_make_no_file_per_request(tmp_path: Path) -> None:
    # A file per request cost 0.2 ms of kernel time each to create (issue 18).
    db = tmp_path / "r.duckdb"
    leases = FileLeases(db)
    leases.open()
    for number in range(200):
        request = Request(
            model="openai:gpt-4o", messages=(Message(role="user", content=f"{number}?"),)
        )
        settled_by(leases, request.hash())
    assert sorted(p.name for p in leases_dir(db).iterdir()) == [".runs", "answers.jsonl", "locks"]
    leases.close()


def test_an_answer_line_cut_short_by_a_killed_writer_loses_no_later_answer(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    key = REQUEST.hash()
    first, second = two_runs(db)
    other = Request(model="openai:gpt-4o", messages=(Message(role="user", content="3+3?"),))
    settled_by(first, other.hash())
    with (leases_dir(db) / "answers.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"key": "' + key + '", "model": "openai:gpt-4o", "messa')  # killed here
    cut = claim(second, key)
    assert cut.answer is None  # the cut line is no answer
    cut.release()
    settled_by(first, key)  # its line starts on a fresh line after the cut one
    found = claim(second, key)
    assert found.answer is not None and found.answer.text == "4"
    found.release()
    assert claim(second, other.hash()).answer is not None
    first.close()
    second.close()
