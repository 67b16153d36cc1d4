"""What the user wrote, read and validated: nothing here sends a request.

- :mod:`~harness.config.settings`: ``[tool.cost-eval]`` (configurations, gate, providers).
- :mod:`~harness.config.suites`: suite YAML files, cases, and the golden files.
- :mod:`~harness.config.prices`: the price table (genai-prices plus overrides).
- :mod:`~harness.config.volume`: the ``volume`` setting (``"100k/day"``).
- :mod:`~harness.config.record_mode`: when a run may call a paid provider.
"""
