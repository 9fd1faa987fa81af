"""Readers register themselves here by file suffix or by ``scheme:`` prefix; ``read`` picks one per target.

A decorator rather than an if/elif chain, so a new format is one new module in ``readers/``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

from conformance.documents.model import Document

Reader = Callable[[str], list[Document]]
_BY_SUFFIX: dict[str, Reader] = {}
_BY_SCHEME: dict[str, Reader] = {}


class DocumentError(ValueError):
    """A target that cannot be read; the message says where and how to fix it."""


def reader(*, suffixes: tuple[str, ...] = (), scheme: str | None = None) -> Callable[[Reader], Reader]:
    """Register ``fn(target) -> [Document]`` for files ending in ``suffixes`` or targets ``scheme:...``."""

    def register(fn: Reader) -> Reader:
        for suffix in suffixes:
            if suffix in _BY_SUFFIX:
                raise ValueError(f"two readers for {suffix!r}: {_BY_SUFFIX[suffix].__module__} and {fn.__module__}")
            _BY_SUFFIX[suffix] = fn
        if scheme:
            _BY_SCHEME[scheme] = fn
        return fn

    return register


def _load_readers() -> None:
    import conformance.documents.readers as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")


def known() -> tuple[list[str], list[str]]:
    """Registered suffixes and schemes (for help texts and error messages)."""
    _load_readers()
    return sorted(_BY_SUFFIX), sorted(_BY_SCHEME)


def read(target: str) -> list[Document]:
    """The documents of one command-line target: a file, or ``scheme:...`` (e.g. ``module:torch.func``)."""
    _load_readers()
    scheme, sep, rest = target.partition(":")
    if sep and scheme in _BY_SCHEME and not Path(target).exists():
        return _BY_SCHEME[scheme](rest)
    path = Path(target)
    if not path.is_file():
        raise DocumentError(f"{target}: no such file (give a file or one of: "
                            + ", ".join(f"{s}:..." for s in _BY_SCHEME) + ")")
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix not in _BY_SUFFIX:
        raise DocumentError(f"{target}: no reader for {suffix or 'files without a suffix'!r} "
                            f"(known: {', '.join(sorted(_BY_SUFFIX))})")
    return _BY_SUFFIX[suffix](target)
