"""What the installed plugin costs a pytest run that does not ask for ``--cost-eval``.

    python benchmarks/bench_import.py [--runs 15] [--quick]

On an empty project (one trivial test), times ``pytest --co -q`` with and without
the plugin, as the median of interleaved runs, two ways:

* isolated: plugin autoloading off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``), with
  and without ``-p harness.plugin``: only our plugin differs, little noise;
* as installed: every installed plugin loads, with and without ``-p no:cost_eval``.

Also prints ``python -X importtime`` of ``import harness.plugin`` after pytest
(the import's own cost, without process-start noise) and checks that no heavy
dependency (openai, anthropic, duckdb, datasets, evaluate, numpy, jinja2,
pyarrow, yaml) is imported by a run without ``--cost-eval``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import children_cpu_seconds, emit, median

HEAVY = (
    "openai",
    "anthropic",
    "duckdb",
    "datasets",
    "evaluate",
    "numpy",
    "jinja2",
    "pyarrow",
    "yaml",
    "matplotlib",
    "genai_prices",
)
TARGET_MS = 20.0
"""Issue 9: the plugin adds under 20 ms to a pytest run without --cost-eval."""


def pytest_run(project: Path, extra: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user+sys) seconds of one ``pytest --co -q``."""
    cmd = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra]
    cpu0, start = children_cpu_seconds(), time.perf_counter()
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, children_cpu_seconds() - cpu0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, cpu


Arms = dict[str, tuple[list[str], dict[str, str]]]


def paired(project: Path, runs: int, arms: Arms) -> dict[str, list[tuple[float, float]]]:
    """Interleaved runs of each arm: (wall, CPU) per run."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
    for extra, env in arms.values():  # warm the file cache once
        pytest_run(project, extra, env)
    for _ in range(runs):
        for name, (extra, env) in arms.items():
            times[name].append(pytest_run(project, extra, env))
    return times


def import_time_us() -> tuple[int, int]:
    """(self, cumulative) microseconds of ``import harness.plugin`` after ``import pytest``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pytest; import harness.plugin"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*harness\.plugin$", line)
        if match:
            return int(match.group(1)), int(match.group(2))
    raise RuntimeError("harness.plugin not in the -X importtime output")


def heavy_imports(project: Path) -> list[str]:
    """Heavy modules in sys.modules after a ``pytest --co`` run without --cost-eval."""
    code = (
        "import sys, pytest\n"
        "pytest.main(['--co', '-q', '-p', 'no:cacheprovider'])\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("HEAVY "))
    found: list[str] = eval(line[len("HEAVY ") :])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="default 15 (--quick 5)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 15)
    base_env = dict(os.environ)
    base_env.pop("PYTEST_ADDOPTS", None)
    isolated_env = dict(base_env, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        project = Path(tmp)
        (project / "test_empty.py").write_text("def test_nothing():\n    pass\n")
        isolated = paired(
            project,
            runs,
            {
                "without": ([], isolated_env),
                "with": (["-p", "harness.plugin"], isolated_env),
            },
        )
        installed = paired(
            project,
            runs,
            {"without": (["-p", "no:cost_eval"], base_env), "with": ([], base_env)},
        )
        heavy = heavy_imports(project)
    self_us, cumulative_us = import_time_us()
    figures: dict[str, float | list[str] | int] = {"runs": runs}
    for label, times in (("isolated", isolated), ("installed", installed)):
        for i, what in ((0, "wall"), (1, "cpu")):
            without = median([t[i] for t in times["without"]])
            with_ = median([t[i] for t in times["with"]])
            diffs = [w[i] - o[i] for w, o in zip(times["with"], times["without"], strict=True)]
            figures[f"{label}_{what}_without_ms"] = without * 1000
            figures[f"{label}_{what}_with_ms"] = with_ * 1000
            figures[f"{label}_{what}_added_ms"] = median(diffs) * 1000
            print(
                f"pytest --co -q, {label}, {what}: without the plugin {without * 1000:.0f} ms, "
                f"with {with_ * 1000:.0f} ms; added {median(diffs) * 1000:+.1f} ms (median of "
                f"{runs} paired runs; spread {min(diffs) * 1000:+.0f}..{max(diffs) * 1000:+.0f})"
            )
    figures["import_self_us"] = self_us
    figures["import_cumulative_us"] = cumulative_us
    figures["heavy_imported"] = heavy
    print(
        f"import harness.plugin after pytest: {cumulative_us / 1000:.1f} ms "
        f"(-X importtime, cumulative; target {TARGET_MS:g} ms)"
    )
    print(f"heavy modules imported without --cost-eval: {heavy or 'none'}")
    emit("import", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
