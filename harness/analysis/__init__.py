"""Arithmetic over answers a run already has: no model is called here.

- Router sweeps: :mod:`~harness.analysis.router_input` (per-case scores and costs),
  :mod:`~harness.analysis.router_points`, :mod:`~harness.analysis.router_bootstrap`,
  :mod:`~harness.analysis.router_curves` (APGR, CPT, oracle, Pareto) and
  :mod:`~harness.analysis.router_sweep` (every threshold judged by the gate).
- Semantic caches: :mod:`~harness.analysis.cache_traffic` (the query stream),
  :mod:`~harness.analysis.cache_replay` (one threshold replayed),
  :mod:`~harness.analysis.cache_walk` (the candidate search and the stream walk) and
  :mod:`~harness.analysis.cache_sweep` (every threshold at once, with and without a
  verifier stage).
- :mod:`~harness.analysis.compare`: what changed between two stored runs.
"""
