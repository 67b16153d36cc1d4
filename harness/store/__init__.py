"""The results database (DuckDB) and what keeps a run's answers safe until it is written.

- :mod:`harness.store.database`: opening the file, its schema, row helpers.
- :mod:`harness.store.runs`: writing a run, reading runs back, history, export.
- :mod:`harness.store.responses`: the response store (recorded answers by request hash).
- :mod:`harness.store.sweeps`: a run's threshold sweeps.
- :mod:`harness.store.batches`: submitted provider batches, for resuming them.
- :mod:`harness.store.journal`: the per-run response journal on disk.
"""
