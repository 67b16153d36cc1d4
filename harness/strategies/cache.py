"""Kept import path: the exact-match cache now lives in :mod:`harness.strategies.exact_cache`."""

from __future__ import annotations

from harness.strategies.exact_cache import ExactCache, exact_cache, normalize_prompt

__all__ = ["ExactCache", "exact_cache", "normalize_prompt"]
