"""Statistics of the gate: pure functions over numbers, no I/O.

- :mod:`~harness.stats.bootstrap`: paired bootstrap CIs, seeds, non-inferiority
  verdicts and per-category deltas;
- :mod:`~harness.stats.significance`: McNemar, the one-sided t-test, Holm, the
  minimum detectable drop and the judge's flip rate;
- :mod:`~harness.stats.distributions`: the normal and Student's t distributions;
- :mod:`~harness.stats.binomial`: binomial intervals (Wilson, Clopper-Pearson);
- :mod:`~harness.stats.gates`: the gate's rule (:func:`~harness.stats.gates.decide`).
"""
