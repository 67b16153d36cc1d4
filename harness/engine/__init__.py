"""The engine: one run of configurations over suites, from requests to verdicts.

- :mod:`~harness.engine.run_data`: the run's data (``Plan``, ``PreparedSuite``, ``RunOutcome``).
- :mod:`~harness.engine.prepare`: check everything before a request is sent.
- :mod:`~harness.engine.goldens`: the baseline's goldens, checked and (re)recorded.
- :mod:`~harness.engine.executor`: deduplicating, bounded sending (store first).
- :mod:`~harness.engine.cases`: one case sent through a configuration, scored and
  priced; :mod:`~harness.engine.summary`: a (suite, configuration) judged.
- :mod:`~harness.engine.run`: the run loop; :mod:`~harness.engine.batching`: the
  same through batch APIs.
- :mod:`~harness.engine.router_sweep` and :mod:`~harness.engine.lever_metrics`:
  router sweeps and cache/compression figures inside a run;
  :mod:`~harness.engine.cache_verify`: a cache verifier's questions for a sweep.
- :mod:`~harness.engine.metadata`: the run's id, git sha and branch, versions.

The engine stores nothing: its callers (the pytest session, the CLI) hand it
what it needs (recorded answers, a record mode, a batch store) and keep what it
returns.
"""
