"""Files written atomically: beside their final place, then renamed over it.

A crash, a full disk or Ctrl-C while writing leaves the previous file (or
none), never half of one: goldens, imported suites and reports are read by
people, CI artifact uploads and the next run.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["AtomicFile"]


class AtomicFile:
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

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
