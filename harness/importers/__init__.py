"""Recordings in, as suites, goldens and response-store entries.

- :mod:`~harness.importers.recordings`: JSON Lines recordings of any model
  (:mod:`~harness.importers.records` checks each record).
- :mod:`~harness.importers.routellm`: RouteLLM's released answers and labels.
- :mod:`~harness.importers.paraphrase_pairs`: paraphrase pairs (GPTCache's) as a
  cache suite with generated hard negatives.
"""
