"""Files written atomically: beside their final place, then renamed over it.

A crash, a full disk or Ctrl-C while writing leaves the previous file (or
none), never half of one: goldens, imported suites and reports are read by
people, CI artifact uploads and the next run. :class:`StagedTree` does the
same for several files that must appear together (an import's suite, goldens
and labels): all of them, or none and no folder made for them.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from harness.errors import StorageError

__all__ = [
    "AtomicFile",
    "StagedTree",
    "clear_leftover_trees",
    "lock_file",
    "missing_folders",
    "remove_empty_folders",
]


class _AllOrNothing(ABC):
    """A context manager that keeps its work when the block succeeds and undoes it on an
    exception (``AtomicFile`` and ``StagedTree`` differ only in what keep and undo are)."""

    @abstractmethod
    def _keep(self) -> None: ...

    @abstractmethod
    def _undo(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._keep()
        else:
            self._undo()


class AtomicFile(_AllOrNothing):
    """A text file that appears at ``path`` only when :meth:`commit` is called.

    Use it as a context manager (commit on success, discard on an exception)
    or hold it open across several steps and call :meth:`commit` or
    :meth:`abort` yourself. The file gets mode 0644 (``mkstemp`` makes it
    private): goldens, suites and reports are ordinary files to read and share.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._handle = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the file was committed or aborted (nothing more can be written)."""
        return self._done

    def write(self, text: str) -> None:
        """Append ``text``."""
        self._handle.write(text)

    def write_json_line(self, row: Mapping[str, Any]) -> None:
        """Append ``row`` as one line of JSON (non-ASCII kept as is)."""
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        """Close the file and move it into place, replacing any earlier one."""
        if self._done:
            return
        self._done = True
        try:
            self._handle.close()
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise

    def abort(self) -> None:
        """Close and delete the file; ``path`` keeps what it had. Safe to call twice."""
        if self._done:
            return
        self._done = True
        self._handle.close()
        self._tmp.unlink(missing_ok=True)

    def _keep(self) -> None:
        self.commit()

    def _undo(self) -> None:
        self.abort()


def missing_folders(path: Path) -> list[Path]:
    """The folders ``path.mkdir(parents=True)`` would create, outermost first."""
    missing: list[Path] = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing[::-1]


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove the folders we made (innermost first), each only if it is still empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            continue  # not empty (someone else wrote there) or already gone: leave it


STAGING_PREFIX = ".staging-"
OWNER_LOCK = "owner.lock"


def clear_leftover_trees(root: Path) -> None:
    """Delete the hidden folders of :class:`StagedTree` s in ``root`` whose process died.

    A tree killed before it moved anything (SIGKILL, a power cut) left only its
    staged copies: deleted. One killed while moving its files into place also
    holds, under ``old/``, files it had moved aside: that is for a person to
    settle, so nothing is touched and the error says what to do. A tree whose
    process still runs (its lock is held) is left alone.

    Raises:
        StorageError: a leftover holds replaced files.
    """
    for leftover in sorted(root.glob(f"{STAGING_PREFIX}*")):
        if not leftover.is_dir() or _owner_alive(leftover):
            continue
        replaced = sorted(p for p in (leftover / "old").rglob("*") if p.is_file())
        if replaced:
            shown = ", ".join(str(p.relative_to(leftover / "old")) for p in replaced[:3])
            more = f" and {len(replaced) - 3} more" if len(replaced) > 3 else ""
            raise StorageError(
                f"{leftover}: an earlier import into {root} was stopped while moving its "
                f"files into place. {leftover / 'old'} holds {len(replaced)} file(s) it had "
                f"replaced ({shown}{more}). Move each back to the same path under {root} "
                f"(or keep the new ones), delete {leftover}, then run the import again."
            )
        shutil.rmtree(leftover, ignore_errors=True)


def lock_file(handle: IO[Any], *, wait: bool) -> bool:
    """Take the exclusive lock on ``handle`` (``flock``: the kernel lets go when the
    process dies); False when another process holds it."""
    flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
    try:
        fcntl.flock(handle.fileno(), flags)
    except BlockingIOError:
        return False
    return True


def _owner_alive(folder: Path) -> bool:
    try:
        handle = (folder / OWNER_LOCK).open("rb")
    except FileNotFoundError:
        return False  # killed before it took the lock, or made by an older version
    with handle:  # closing lets go of a lock just taken
        return not lock_file(handle, wait=False)


class StagedTree(_AllOrNothing):
    """Files built in a hidden folder inside ``root`` and moved into place together.

    :meth:`file` gives where to write the file that will appear at
    ``root / relative``; :meth:`publish` moves every such file into place (all
    or none: if one move fails, the ones moved are put back). Until then
    ``root`` holds only the hidden folder ``.staging-*``, so a failure at any
    point (:meth:`discard`) leaves ``root`` as it was: no file, no temporary
    file and no folder made for the tree, ``root`` itself included. After
    :meth:`publish`, :meth:`restore` puts back what it replaced, for a later
    step that failed (a database transaction that would not commit).

    As a context manager: :meth:`discard` on an exception, else :meth:`close`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made = missing_folders(root)
        if root.is_dir():
            clear_leftover_trees(root)
        root.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(dir=root, prefix=STAGING_PREFIX))
        """The hidden folder: staged files under ``new/``, replaced ones under ``old/``."""
        # Held while the tree lives (the kernel lets go when the process dies): how a
        # later tree in the same root tells this one from a leftover.
        self._owner: IO[bytes] | None = (self.folder / OWNER_LOCK).open("wb")
        lock_file(self._owner, wait=True)
        self._files: list[Path] = []
        self._moved: list[tuple[Path, Path | None]] = []
        self._made_on_publish: list[Path] = []

    def file(self, relative: Path | str) -> Path:
        """Where to write what :meth:`publish` moves to ``root / relative`` (folder made)."""
        relative = Path(relative)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"{relative} is not a path inside {self.root}")
        staged = self.folder / "new" / relative
        staged.parent.mkdir(parents=True, exist_ok=True)
        if relative not in self._files:
            self._files.append(relative)
        return staged

    def scratch(self, name: str) -> Path:
        """A working file that is never published (deleted with the tree)."""
        return self.folder / name

    def publish(self) -> None:
        """Move every staged file into place (mode 0644), replacing what was there.

        Raises:
            OSError: a move failed; every file moved before it was put back.
        """
        try:
            for relative in self._files:
                target = self.root / relative
                made = missing_folders(target.parent)
                target.parent.mkdir(parents=True, exist_ok=True)
                self._made_on_publish += made
                if target.is_dir() and not target.is_symlink():
                    # Never moved aside (and deleted with the tree): it is someone's folder.
                    raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(target))
                backup = None
                if target.exists() or target.is_symlink():
                    backup = self.folder / "old" / relative
                    backup.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(target, backup)
                self._moved.append((target, backup))
                staged = self.folder / "new" / relative
                os.chmod(staged, 0o644)
                os.replace(staged, target)
        except BaseException:
            self.restore()
            raise

    def restore(self) -> None:
        """Undo :meth:`publish`: the files it replaced come back, the ones it added go."""
        for target, backup in reversed(self._moved):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        self._moved = []
        remove_empty_folders(self._made_on_publish)
        self._made_on_publish = []

    def close(self) -> None:
        """Delete the hidden folder (what was not published, and the replaced files)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._owner is not None:
            self._owner.close()
            self._owner = None

    def discard(self) -> None:
        """Leave ``root`` as it was before the tree: undo any publish, delete everything."""
        self.restore()
        self.close()
        remove_empty_folders(self._made)

    def _keep(self) -> None:
        self.close()

    def _undo(self) -> None:
        self.discard()
