"""What identifies a run: its id, git sha and branch, harness and Python versions."""

from __future__ import annotations

import platform
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__


def new_run_id() -> str:
    """A sortable, unique run id: ``20261126T131500Z-3f9a1c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_metadata(root: Path) -> dict[str, str]:
    """Git sha and branch (when in a checkout), harness and Python versions."""

    # One git process for both (each costs a fork and an exec): two lines, sha then branch.
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        lines = done.stdout.split() if done.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired):
        lines = []
    sha, branch = [*lines, "", ""][:2]
    return {
        "git_sha": sha,
        "git_branch": branch,
        "harness_version": __version__,
        "python_version": platform.python_version(),
    }
