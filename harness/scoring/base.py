"""The scorer protocol and the registry of scorers.

A scorer compares one output with one reference text and returns a quality in
[0, 1]. Suites name a scorer and pass it keyword arguments::

    scorer: {name: fuzzy, threshold: 0.8}

Built-in scorers register in :data:`scorers`; user scorers are found by entry
point (group ``harness.scorers``) or import path (``"myapp.scoring:MyScorer"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from harness.registry import Registry
from harness.types import Score


@runtime_checkable
class Scorer(Protocol):
    """Scores an output against a reference (a golden or an expected answer)."""

    name: str
    """The registered name, shown in reports."""

    def score(self, output: str, reference: str) -> Score:
        """Quality of ``output`` given ``reference``, in [0, 1]."""
        ...


ScorerFactory = Callable[..., Scorer]
"""Builds a scorer from the keyword arguments a suite gives it."""

scorers: Registry[ScorerFactory] = Registry("scorer", "harness.scorers")
"""Every known scorer, by name."""
