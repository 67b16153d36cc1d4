"""The levers, one module each, as middleware in front of a model.

``base`` (the :class:`~harness.strategies.base.Strategy` protocol and the registries
``routers``, ``caches``, ``compressors``), ``router`` (threshold routers and their
scores), ``trained_router`` (TF-IDF + logistic regression, out of fold),
``exact_cache``, ``semantic_cache`` (and ``cache_verifier``, its verifier stage),
``user_cache`` (your own cache class, adapted), ``compress`` (compressors),
``options`` (reading a strategy's table) and ``chain``
(a configuration's stack: ``compress -> cache -> route -> batch -> provider``).
"""
