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


_MISSING: dict[str, str] = {}
"""Reader module -> the package it could not import (the ``documents`` extra is not installed)."""


def _load_readers() -> None:
    import conformance.documents.readers as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        try:
            importlib.import_module(f"{pkg.__name__}.{info.name}")
        except ImportError as exc:
            _MISSING[info.name] = exc.name or str(exc)


def known() -> tuple[list[str], list[str]]:
    """Registered suffixes and schemes (for help texts and error messages)."""
    _load_readers()
    return sorted(_BY_SUFFIX), sorted(_BY_SCHEME)


DIRECTORY_SUFFIXES = (".md", ".markdown", ".myst", ".ipynb", ".rst")
"""What a directory target collects: unambiguous document formats.  ``.py`` files count only when they carry
sphinx-gallery markers (so ``conf.py`` and helper modules are not run); ``.txt`` only when named one by one."""
_SKIP_DIRS = {"_build", ".ipynb_checkpoints", "node_modules", "site-packages", "__pycache__"}


def expand(target: str) -> list[str]:
    """A directory becomes its documents, sorted; any other target stays as it is."""
    path = Path(target)
    if not path.is_dir():
        return [target]
    from conformance.documents.readers.gallery import MARKER

    found = []
    for p in sorted(path.rglob("*")):
        if not p.is_file() or any(part.startswith(".") or part in _SKIP_DIRS for part in p.relative_to(path).parts):
            continue
        if p.suffix.lower() in DIRECTORY_SUFFIXES:
            found.append(str(p))
        elif p.suffix == ".py":
            try:
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if any(MARKER.match(line) for line in text.splitlines()):
                found.append(str(p))
    return found


def read(target: str) -> list[Document]:
    """The documents of one command-line target: a file, a directory of documents, or ``scheme:...``
    (e.g. ``module:torch.func``)."""
    _load_readers()
    scheme, sep, rest = target.partition(":")
    if sep and scheme in _BY_SCHEME and not Path(target).exists():
        return _BY_SCHEME[scheme](rest)
    if Path(target).is_dir():
        return [doc for item in expand(target) for doc in read(item)]
    path = Path(target)
    if not path.is_file():
        raise DocumentError(f"{target}: no such file (give a file or one of: "
                            + ", ".join(f"{s}:..." for s in _BY_SCHEME) + ")")
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix not in _BY_SUFFIX and _MISSING:
        missing = ", ".join(sorted(set(_MISSING.values())))
        raise DocumentError(f"{target}: no reader for {suffix!r} here: {missing} is not installed "
                            "(pip install 'transform-conformance[documents]')")
    if suffix not in _BY_SUFFIX:
        raise DocumentError(f"{target}: no reader for {suffix or 'files without a suffix'!r} "
                            f"(known: {', '.join(sorted(_BY_SUFFIX))})")
    return _BY_SUFFIX[suffix](target)
