"""harness: evaluate what LLM cost optimizations save and what they cost in quality."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
