"""The bounds on what a suite makes the harness read: sizes, aliases, duplicate keys, folders.

A suite file is data someone else may have written (a shared repository, a
pull request), so reading it must not cost more than its size:

- the file may hold at most :data:`MAX_SUITE_BYTES` (larger suites keep their
  cases in a ``cases_file``);
- aliases (``*name``) may repeat what an anchor (``&name``) holds, but all of
  them together may add at most :data:`MAX_ALIAS_EXPANSION` nodes and
  characters to the document ("billion laughs": nine nested anchors of ten
  aliases each are 10**9 nodes written in a few hundred bytes); an alias
  inside its own anchor is refused;
- a key written twice in one mapping (``prompt:`` twice in a case) is refused
  with both lines: YAML would keep the last one without a word. Keys brought in
  by a merge (``<<: *defaults``) may still be overridden.

The YAML checks run on the composed node graph, before any Python object is
built, so a hostile file is refused in milliseconds. A ``cases_file`` holds at
most :data:`MAX_CASES_FILE_BYTES`, a JSON Lines line at most
:data:`MAX_LINE_BYTES` (recordings too), a case at most :data:`MAX_CASE_CHARS`
characters; and a ``cases_file`` must lie inside the project unless
``cases_outside_project = true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import SuiteError

MAX_SUITE_BYTES = 8 * 1024 * 1024
"""Largest suite YAML file read (8 MiB); larger suites belong in a ``cases_file``."""
MAX_ALIAS_EXPANSION = 1_000_000
"""Most nodes plus characters that aliases may add to a suite file when expanded."""
MAX_CASE_CHARS = 4_000_000
"""Most characters of text in one case (prompt, system, context, history and expected
answer together): about a million tokens, beyond any model's context window."""
MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line of a JSON Lines file (a case, a recording) read: 16 MiB."""
MAX_CASES_FILE_BYTES = 256 * 1024 * 1024
"""Largest ``cases_file`` read (256 MiB): every case of a suite is held in memory."""
OUTSIDE_SETTING = "cases_outside_project"
"""The ``[tool.cost-eval]`` setting that lets a ``cases_file`` lie outside the project."""
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """A bound broken while composing; turned into a located SuiteError."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that checks the composed document before building it."""

    def get_single_node(self) -> Any:
        """The document's node graph, refused if it breaks a bound."""
        node = super().get_single_node()
        if node is not None:
            check_node_graph(node)
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _check_keys(node: MappingNode) -> None:
    seen: dict[tuple[str, str], Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == MERGE_TAG:
            continue
        key = (str(key_node.tag), str(key_node.value))
        first = seen.get(key)
        if first is not None:
            raise _Refused(
                f"line {_line(key_node)}: key {key_node.value!r} is written twice in one "
                f"mapping (first at line {_line(first)}); YAML would silently keep only the "
                "last. Remove or rename one of them"
            )
        seen[key] = key_node


def check_node_graph(root: Node) -> None:
    """Refuse duplicate keys, self-referencing aliases and an alias expansion over the bound.

    Walks each distinct node once (iteratively: depth is not limited here), so
    the cost is the size of the file, not of its expansion.
    """
    expanded: dict[int, int] = {}  # id(node) -> nodes + characters, aliases expanded
    own_total = 0
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            own = 1 + (len(node.value) if isinstance(node, ScalarNode) else 0)
            own_total += own
            expanded[key] = own + sum(expanded[id(child)] for child in _children(node))
            continue
        if key in expanded:
            continue
        if isinstance(node, MappingNode):
            _check_keys(node)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _Refused(
                    f"line {_line(child)}: an alias refers to the anchor it is inside of, "
                    "which would repeat forever. Write the value out instead"
                )
            if id(child) not in expanded:
                stack.append((child, False))
    added = expanded[id(root)] - own_total
    if added > MAX_ALIAS_EXPANSION:
        raise _Refused(
            f"its aliases (*name) expand to {added:,} more nodes and characters than the "
            f"file holds, above the limit of {MAX_ALIAS_EXPANSION:,} (a 'billion laughs' "
            "file looks like this). Write the repeated values out, or repeat them less"
        )


def load_suite_yaml(path: Path, *, where: str) -> Any:
    """The parsed YAML of a suite file, read within the bounds above.

    Raises:
        SuiteError: the file is too large, repeats a key or expands too far.
        yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError: for the
            caller to word (not YAML, not UTF-8, unreadable, nested too deeply).
    """
    with path.open("rb") as handle:
        raw = handle.read(MAX_SUITE_BYTES + 1)
    if len(raw) > MAX_SUITE_BYTES:
        raise SuiteError(
            f"{where}: the suite file is larger than {MAX_SUITE_BYTES // (1024 * 1024)} MiB. "
            "Keep the suite's settings in the YAML file and move its cases to a "
            "'cases_file' (JSON Lines or Parquet), or split it into several suites."
        )
    try:
        return yaml.load(raw.decode("utf-8"), Loader=BoundedLoader)  # a SafeLoader
    except _Refused as exc:
        raise SuiteError(f"{where}: {exc.message}.") from None


def check_inside(
    path: Path, folders: Iterable[Path], *, name: str, where: str, what: str = "cases_file"
) -> None:
    """Refuse a ``cases_file`` (or another ``what``) that lies, links resolved, outside ``folders``.

    Raises:
        SuiteError: naming the file, the project folder and the setting that allows it.
    """
    target = path.resolve()
    folders = list(folders)
    if any(target.is_relative_to(folder.resolve()) for folder in folders):
        return
    raise SuiteError(
        f"{where}: {what} {name!r} lies outside the project folder "
        f"({folders[0].resolve()}), at {target}. Move the file into the project, or allow "
        f"files outside it with {OUTSIDE_SETTING} = true in [tool.cost-eval]."
    )
