"""The engine: one run of configurations over suites, from requests to verdicts.

- :mod:`~harness.engine.model`: the run's data (``Plan``, ``PreparedSuite``, ``RunOutcome``).
- :mod:`~harness.engine.prepare`: check everything before a request is sent.
- :mod:`~harness.engine.goldens`: the baseline's goldens, checked and (re)recorded.
- :mod:`~harness.engine.executor`: deduplicating, bounded sending (store first).
- :mod:`~harness.engine.score` and :mod:`~harness.engine.summary`: a case scored,
  a pair judged.
- :mod:`~harness.engine.run`: the run loop; :mod:`~harness.engine.batching`: the
  same through batch APIs.
- :mod:`~harness.engine.router_sweep` and :mod:`~harness.engine.lever_metrics`:
  router sweeps and cache/compression figures inside a run.

The engine stores nothing: its callers (the pytest session, the CLI) hand it
what it needs (recorded answers, a record mode, a batch store) and keep what it
returns.
"""
