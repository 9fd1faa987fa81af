"""Dotted names (``torch.func.vmap``) resolved to objects: the one resolver, on the host and in the sandbox.

Import the longest prefix that is a module (the whole name first: it may be a module itself), then walk the
rest as attributes.  Standard library only, so the sandbox's programs (the article's API probe and propositions)
import it as the host's specs do.
"""

from __future__ import annotations

import importlib
from typing import Any


def resolve(dotted: str) -> Any:
    """The object ``dotted`` names; ImportError when no prefix imports, AttributeError when an attribute is
    missing below the module that does."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no importable module in {dotted!r}")
