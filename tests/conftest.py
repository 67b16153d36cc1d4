"""Shared fixtures: a small project on disk that `pytest --cost-eval` can run."""

from __future__ import annotations

import pytest

from tests.helpers import PYPROJECT, mini_suite_text

pytest_plugins = ["pytester"]


@pytest.fixture
def mini_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the mini suite and two configurations; goldens not yet recorded."""
    pytester.makefile(".toml", pyproject=PYPROJECT.format(small_enforce=""))
    suites = pytester.path / "suites"
    suites.mkdir()
    (suites / "mini.yaml").write_text(mini_suite_text())
    return pytester
