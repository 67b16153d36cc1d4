"""Shared fixtures: a small project on disk that `pytest --cost-eval` can run."""

from __future__ import annotations

import anthropic  # noqa: F401
import duckdb  # noqa: F401
import numpy  # noqa: F401
import openai  # noqa: F401
import pyarrow  # noqa: F401
import pytest
import scipy.special  # noqa: F401  (harness.stats imports it lazily; C extensions load once)

from tests.fakes.llm_server import warm_up_http_stack
from tests.helpers import PYPROJECT, mini_suite_text

pytest_plugins = ["pytester", "tests.fakes.fixtures"]

# pytester runs pytest in this process and afterwards removes every module the
# run imported. C extensions (numpy, duckdb) cannot be imported twice in one
# process, so they are imported above, once, before any in-process run.
# The SDKs' HTTP stack imports its transport on the first request. Imported anew
# after an in-process run, its exception classes are no longer those the SDK
# catches: a timeout escapes as a raw ReadTimeout instead of APITimeoutError.
warm_up_http_stack()


@pytest.fixture
def mini_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the mini suite and two configurations; goldens not yet recorded."""
    pytester.makefile(".toml", pyproject=PYPROJECT.format(small_enforce=""))
    suites = pytester.path / "suites"
    suites.mkdir()
    (suites / "mini.yaml").write_text(mini_suite_text())
    return pytester
