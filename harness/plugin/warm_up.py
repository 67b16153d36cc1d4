"""Work the end of a run needs, done while the run waits for answers.

A first run spends most of its wall time waiting on providers, its CPU partly
idle; importing DuckDB and the report's templates at the end would add about
0.1 s to what the user waits for. The session starts :func:`warm_up` in a
thread as the run begins (the controller only: xdist workers neither store nor
render).
"""

from __future__ import annotations

from harness.report.render import TEMPLATE, environment


def warm_up() -> None:
    """Import what storing and reporting a run need, and load the report's templates.

    Called in a thread while the run waits for answers: the CPU is idle then, and
    these ~0.1 s come off the end of the run. It does nothing the end of the run
    would not do the same way (the template environment is cached).
    """
    try:
        import duckdb  # noqa: F401  (the run is stored through it)
        import numpy.ma  # noqa: F401  (NULL numbers go to DuckDB as masked arrays)

        environment().get_template(TEMPLATE)
    except Exception:
        # Nothing is lost: the end of the run does the same work and reports what fails.
        return


__all__ = ["warm_up"]
