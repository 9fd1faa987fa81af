"""Conformance tests for JAX-like function transforms.

The embeddable API (:mod:`conformance.run.api`): ``conformance.check_backend(adapter)`` runs the battery and
returns its records; ``conformance.parametrize_checks(adapter)`` runs it inside a library's own pytest suite.
They are loaded on first use, so ``python -m conformance report`` and the article sandbox do not import
pytest, hypothesis and the catalog just by importing the package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckResult", "ConformanceCheck", "check_backend", "checks", "parametrize_checks"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from conformance.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
