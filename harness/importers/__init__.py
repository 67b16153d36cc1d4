"""Recordings in, as suites, goldens and response-store entries.

- :mod:`~harness.importers.recordings`: JSON Lines recordings of any model
  (:mod:`~harness.importers.records` checks each record).
- :mod:`~harness.importers.routellm`: RouteLLM's released answers and labels.
- :mod:`~harness.importers.paraphrase_pairs`: pairs as a cache suite: labelled
  pairs with their real negatives, or paraphrases (GPTCache's) with generated
  hard negatives.
- :mod:`~harness.importers.labelled_pairs`: labelled pairs read from JSON
  Lines, CSV or JSON, or mined from a suite (nearest neighbours, labelled by
  their goldens).
"""
