"""Suites whose cases come from a Hugging Face ``datasets`` dataset instead of a list.

A suite may name a dataset in place of ``cases``::

    suite: gsm8k
    scorer: numeric
    reference: expected
    dataset:
      path: openai/gsm8k          # a Hub id (read from the local cache), a folder
      name: main                  # written by save_to_disk, or a .json/.jsonl/.parquet/.csv
      split: test                 # file beside the suite; or files: [a.jsonl, b.jsonl]
      columns: {prompt: question, expected: answer}   # case key: dataset column
      filter: {level: [1, 2]}     # keep rows whose column equals the value (or one of a list)
      sample: 50                  # a seeded sample of 50 rows (seed: 0 unless given)

The dataset is opened with the ``datasets`` library (imported only here, when
such a suite is loaded: it takes about a second to import). The harness never
downloads: Hub datasets are read in offline mode from the local cache, and a
dataset that is not cached is reported with the command that fetches it, so a
run neither waits on the network nor silently picks up a new revision.

Case ids come from the ``id`` column when the mapping names one, else from the
row's position in the split (``row-<n>``, before filtering and sampling), so
the same data gives the same ids and the same request hashes on every run, and
an edited row makes its golden stale. The bounded-input rules of
:mod:`harness.config.suite_limits` hold: local files lie inside the project
unless ``cases_outside_project = true``, the files read hold at most
:data:`~harness.config.suite_limits.MAX_CASES_FILE_BYTES`, and so do the rows
kept as cases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.suite_limits import MAX_CASES_FILE_BYTES, check_inside
from harness.config_values import check_keys
from harness.errors import SuiteError

__all__ = ["DATASET_KEYS", "DatasetSpec", "dataset_rows", "parse_dataset_spec"]

DATASET_KEYS = ("path", "files", "name", "split", "columns", "filter", "sample", "seed")
"""The keys of a suite's ``dataset`` table."""

MAPPED_KEYS = ("id", "prompt", "expected", "category", "system", "context", "tags")
"""Case keys a ``columns`` mapping may fill from a dataset column."""

FILE_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}
"""Local data files by suffix, and the ``datasets`` builder that reads them."""


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A suite's ``dataset`` table, checked."""

    path: str | None
    """A Hub id, or a file or folder relative to the suite's folder."""
    files: tuple[str, ...]
    name: str | None
    split: str | None
    columns: Mapping[str, str]
    """Case key -> dataset column."""
    filter: Mapping[str, tuple[Any, ...]]
    """Column -> the values a kept row may hold there."""
    sample: int | None
    seed: int


def parse_dataset_spec(table: Any, *, where: str) -> DatasetSpec:
    """Check a suite's ``dataset`` table.

    Raises:
        SuiteError: not a table, an unknown key, or a value of the wrong kind.
    """
    where = f"{where}: dataset"
    if not isinstance(table, Mapping):
        raise SuiteError(
            f"{where} must be a table like {{path: openai/gsm8k, name: main, split: test}}."
        )
    check_keys(table, DATASET_KEYS, where=where, error=SuiteError)
    path, files = table.get("path"), table.get("files")
    if (path is None) == (files is None):
        raise SuiteError(
            f"{where}: give exactly one of 'path' (a Hub id, a folder or a file) or 'files' "
            "(a list of .json/.jsonl/.parquet/.csv files beside the suite)."
        )
    if path is not None and (not isinstance(path, str) or not path.strip()):
        raise SuiteError(f"{where}: 'path' must be text, got {path!r}.")
    if files is not None and (
        not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files)
    ):
        raise SuiteError(f"{where}: 'files' must be a list of file names, got {files!r}.")
    texts = {key: table.get(key) for key in ("name", "split")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise SuiteError(f"{where}: {key!r} must be text, got {value!r}.")
    columns = table.get("columns") or {}
    if not isinstance(columns, Mapping) or not all(isinstance(v, str) for v in columns.values()):
        raise SuiteError(
            f"{where}: 'columns' must map case keys to column names, like "
            "{prompt: question, expected: answer}."
        )
    check_keys(columns, MAPPED_KEYS, where=f"{where}: columns", error=SuiteError)
    raw_filter = table.get("filter") or {}
    if not isinstance(raw_filter, Mapping):
        raise SuiteError(f"{where}: 'filter' must map columns to values, like {{level: 3}}.")
    wanted = {
        str(column): tuple(value) if isinstance(value, list) else (value,)
        for column, value in raw_filter.items()
    }
    sample, seed = table.get("sample"), table.get("seed", 0)
    for key, value in (("sample", sample), ("seed", seed)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise SuiteError(f"{where}: {key!r} must be a whole number, got {value!r}.")
    if sample is not None and sample < 1:
        raise SuiteError(f"{where}: 'sample' must be at least 1, got {sample!r}.")
    return DatasetSpec(
        path=path,
        files=tuple(files or ()),
        name=texts["name"],
        split=texts["split"],
        columns=dict(columns),
        filter=wanted,
        sample=sample,
        seed=int(seed),
    )


def dataset_rows(
    suite_path: Path,
    spec: DatasetSpec,
    *,
    where: str,
    root: Path | None = None,
    outside_ok: bool = False,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, case mapping)`` for every row the spec keeps, in the split's order.

    Raises:
        SuiteError: the data cannot be found or read, a mapped or filtered
            column is missing, or the rows exceed the size limit.
    """
    folder = suite_path.parent
    local = _local_paths(folder, spec)
    for path in local:
        if not outside_ok:
            check_inside(
                path, (root or folder, folder), name=path.name, where=where, what="dataset file"
            )
        if not path.exists():
            raise SuiteError(f"{where}: dataset file {str(path)!r} not found.")
    if local:
        size = sum(_bytes(path) for path in local)
        if size > MAX_CASES_FILE_BYTES:
            raise SuiteError(
                f"{where}: the dataset's files hold {size:,} bytes, more than the "
                f"{MAX_CASES_FILE_BYTES // (1024 * 1024)} MiB a suite may read (its cases are "
                "held in memory). Split it into several suites."
            )
    table = _load(spec, local, where=where)
    mapping = {key: key for key in MAPPED_KEYS if key in table.column_names}
    mapping.update(spec.columns)
    for column in [*mapping.values(), *spec.filter]:
        if column not in table.column_names:
            raise SuiteError(
                f"{where}: dataset has no column {column!r}; its columns are "
                f"{', '.join(table.column_names)}. Fix 'columns' or 'filter'."
            )
    if "prompt" not in mapping:
        raise SuiteError(
            f"{where}: the dataset has no 'prompt' column; map one with "
            f"columns: {{prompt: <column>}} (columns: {', '.join(table.column_names)})."
        )
    indices = _kept(table, spec)
    if indices and _selected_bytes(table, indices) > MAX_CASES_FILE_BYTES:
        raise SuiteError(
            f"{where}: the {len(indices):,} rows kept hold more than "
            f"{MAX_CASES_FILE_BYTES // (1024 * 1024)} MiB; keep fewer with 'sample' or 'filter'."
        )
    names = list(mapping.values())
    for index, row in zip(indices, table.select(indices).select_columns(names), strict=True):
        case = {key: row[column] for key, column in mapping.items()}
        if "id" not in mapping:
            case["id"] = f"row-{index + 1}"
        yield f"{where}: dataset row {index + 1}", case


def _local_paths(folder: Path, spec: DatasetSpec) -> list[Path]:
    """The local files or folder the spec names; none when ``path`` is a Hub id."""
    if spec.files:
        return [folder / name for name in spec.files]
    assert spec.path is not None
    candidate = folder / Path(spec.path).expanduser()  # an absolute path stays as it is
    # A relative path that exists, or any path that looks like one, is local;
    # "owner/name" that does not exist here is a Hub id.
    looks_local = spec.path.startswith((".", "/", "~")) or Path(spec.path).suffix in FILE_FORMATS
    return [candidate] if candidate.exists() or looks_local else []


def _bytes(path: Path) -> int:
    """Bytes of a file, or of every file below a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """``datasets`` and ``huggingface_hub`` in offline mode, quiet, for one load.

    Both read ``HF_HUB_OFFLINE`` from the environment once, at import, so the
    module flags are set for the load and put back after: the user's own code
    in the same process keeps its settings.
    """
    import datasets
    import huggingface_hub.constants as hub

    saved = (datasets.config.HF_HUB_OFFLINE, hub.HF_HUB_OFFLINE)
    verbosity = datasets.logging.get_verbosity()
    bars = datasets.utils.are_progress_bars_disabled()
    datasets.config.HF_HUB_OFFLINE = hub.HF_HUB_OFFLINE = True
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hub.HF_HUB_OFFLINE = saved
        datasets.logging.set_verbosity(verbosity)
        if not bars:
            datasets.enable_progress_bars()


def _load(spec: DatasetSpec, local: list[Path], *, where: str) -> Any:
    """The split as a ``datasets.Dataset``."""
    import datasets

    with _offline():
        try:
            loaded = _open(spec, local)
        except SuiteError:
            raise
        except Exception as exc:  # a third-party boundary: any failure becomes one line
            raise SuiteError(_load_failure(spec, local, exc, where=where)) from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if spec.split is None and len(splits) == 1:
            return loaded[splits[0]]
        if spec.split not in loaded:
            raise SuiteError(
                f"{where}: dataset has the splits {', '.join(splits)}; choose one with "
                "split: <name>."
            )
        return loaded[spec.split]
    return loaded


def _open(spec: DatasetSpec, local: list[Path]) -> Any:
    """Open the data the spec names, as a ``Dataset`` or ``DatasetDict``."""
    import datasets

    if not local:
        return datasets.load_dataset(spec.path, spec.name, split=spec.split)
    first = local[0]
    if first.is_dir():
        if (first / "dataset_info.json").exists() or (first / "dataset_dict.json").exists():
            return datasets.load_from_disk(str(first))
        return datasets.load_dataset(str(first), split=spec.split)
    kinds = {FILE_FORMATS.get(path.suffix) for path in local}
    if None in kinds or len(kinds) != 1:
        raise SuiteError(
            f"dataset files must all be one of {', '.join(FILE_FORMATS)}, got "
            f"{', '.join(path.name for path in local)}."
        )
    return datasets.load_dataset(
        kinds.pop(), data_files=[str(path) for path in local], split=spec.split or "train"
    )


def _load_failure(spec: DatasetSpec, local: list[Path], exc: Exception, *, where: str) -> str:
    """The one-line message for a dataset that could not be opened."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if local:
        return f"{where}: cannot read the dataset at {local[0]}: {reason}."
    name = f", {spec.name!r}" if spec.name else ""
    return (
        f"{where}: Hub dataset {spec.path!r}{name} is not in the local cache and the harness "
        f'never downloads ({reason}). Fetch it once with python -c "import datasets; '
        f"datasets.load_dataset({spec.path!r}{name})\", or point 'path' at a local copy."
    )


def _kept(table: Any, spec: DatasetSpec) -> list[int]:
    """Indices of the rows that pass the filter, then the seeded sample of them."""
    indices = list(range(table.num_rows))
    if spec.filter:
        columns = table.select_columns(list(spec.filter)).to_dict()
        indices = [
            i
            for i in indices
            if all(columns[c][i] in allowed for c, allowed in spec.filter.items())
        ]
    if spec.sample is not None and spec.sample < len(indices):
        import numpy as np

        rng = np.random.default_rng(spec.seed)
        chosen = rng.choice(len(indices), size=spec.sample, replace=False)
        # Source order, so a sample reads like the data and ids sort naturally.
        indices = [indices[i] for i in sorted(chosen.tolist())]
    return indices


def _selected_bytes(table: Any, indices: list[int]) -> int:
    """Approximate bytes of the rows kept, from the table's size per row."""
    if not table.num_rows:
        return 0
    return int(table.data.nbytes * len(indices) / table.num_rows)
