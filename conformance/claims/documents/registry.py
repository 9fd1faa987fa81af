"""Readers register themselves here by file suffix or by ``scheme:`` prefix; ``read`` picks one per target.

A decorator rather than an if/elif chain, so a new format is one new module in ``readers/``.

Two things never reach a reader, and are reported as documents that did not run instead: a file over
``limits.MAX_DOCUMENT_BYTES`` (``refused``: its size is checked before a byte is read), and, in a directory
target, a symbolic link whose target lies outside that directory (``skipped``: it is not followed, so a tree
cannot make the checker read, run and copy into its results a file from elsewhere on the machine).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import shlex
from collections.abc import Callable
from pathlib import Path

from conformance.claims.documents.limits import MAX_DOCUMENT_BYTES
from conformance.claims.documents.model import Document, DocumentError, NotRun

Reader = Callable[[str], list[Document]]
_BY_SUFFIX: dict[str, Reader] = {}
_BY_SCHEME: dict[str, Reader] = {}
_COLLECT: dict[str, Callable[[str], bool]] = {}
"""Suffix -> whether a directory walk takes a file of it, from its text (a reader's own test)."""
__all__ = ["DocumentError", "known", "read", "reader", "walk"]  # DocumentError lives in model; raised from here


def reader(*, suffixes: tuple[str, ...] = (), scheme: str | None = None,
           collect: Callable[[str], bool] | None = None) -> Callable[[Reader], Reader]:
    """Register ``fn(target) -> [Document]`` for files ending in ``suffixes`` or targets ``scheme:...``.

    ``collect(text)`` says whether a directory walk takes a file of these suffixes that is not one of
    :data:`DIRECTORY_SUFFIXES` (a gallery reader knows its markers; the registry imports no reader).
    """

    def register(fn: Reader) -> Reader:
        if collect is not None:
            for suffix in suffixes:
                _COLLECT[suffix] = collect
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
    import conformance.claims.documents.readers as pkg

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


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _collected(path: Path) -> bool:
    """Whether a directory walk takes this file: a document suffix, or a ``.py`` with gallery markers."""
    if path.suffix.lower() in DIRECTORY_SUFFIXES:
        return True
    _load_readers()
    collect = _COLLECT.get(path.suffix)
    if collect is None:
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_DOCUMENT_BYTES)
    except (OSError, UnicodeDecodeError):
        return False
    return collect(text)


def walk(target: str) -> list[tuple[str, NotRun | None]]:
    """The documents under a directory, sorted, each with ``None`` or why it is not read.

    Symbolic links are never followed out of the directory: a linked file or directory whose real path lies
    outside it is listed as ``skipped`` with the reason; links that stay inside are taken like any file (linked
    directories are not descended into: what they hold is walked where it really is).
    """
    root = Path(target)
    real_root = root.resolve()
    found: list[tuple[Path, NotRun | None]] = []

    def outside(p: Path) -> NotRun | None:
        real = p.resolve()
        if _inside(real, real_root):
            return None
        return NotRun("skipped", f"a symbolic link to {real}, outside {root}: links leaving the tree are not "
                                 "followed (check that file by naming it)")

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        for d in list(dirnames):
            if (here / d).is_symlink():
                dirnames.remove(d)  # never descended into; reported when it leads out of the tree
                why = outside(here / d)
                if why is not None:
                    found.append((here / d, why))
        for name in filenames:
            p = here / name
            if name.startswith("."):
                continue
            if p.is_symlink():
                why = outside(p)
                if why is not None:
                    if p.suffix.lower() in (*DIRECTORY_SUFFIXES, ".py"):
                        found.append((p, why))
                    continue
            if p.is_file() and _collected(p):
                found.append((p, _hard_linked(p, root)))
    return [(str(p), why) for p, why in sorted(found, key=lambda item: item[0])]


def _hard_linked(p: Path, root: Path) -> NotRun | None:
    """A file of a walked tree with more than one name may be another name of a file outside it (a hard link to
    ``/etc/shadow`` is indistinguishable by path): it is skipped with the reason, like a link leading out."""
    try:
        links = p.lstat().st_nlink
    except OSError:
        return None
    if links <= 1:
        return None
    return NotRun("skipped", f"a file with {links} hard links: one of its other names may lie outside {root}, and "
                             "links leaving the tree are not followed (check that file by naming it)")


def expand(target: str) -> list[str]:
    """A directory becomes its documents, sorted (links leaving it left out); any other target stays as it is."""
    if not Path(target).is_dir():
        return [target]
    return [p for p, why in walk(target) if why is None]


def not_run(target: str, why: NotRun) -> Document:
    """The record of a document that is reported but not read (see :class:`~conformance.claims.documents.model.NotRun`)."""
    return Document(source=target, kind="file", cells=[], title=target, file=target, not_run=why,
                    reproducer=shlex.join(["python", "-m", "conformance", "check-doc", target]))


def read(target: str) -> list[Document]:
    """The documents of one command-line target: a file, a directory of documents, or ``scheme:...``
    (e.g. ``module:torch.func``)."""
    _load_readers()
    scheme, sep, rest = target.partition(":")
    if sep and scheme in _BY_SCHEME and not Path(target).exists():
        return _BY_SCHEME[scheme](rest)
    if Path(target).is_dir():
        docs: list[Document] = []
        for item, why in walk(target):
            docs.extend([not_run(item, why)] if why else read(item))
        return docs
    path = Path(target)
    if not path.is_file():
        raise DocumentError(f"{target}: no such file (give a file or one of: "
                            + ", ".join(f"{s}:..." for s in _BY_SCHEME) + ")")
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        return [not_run(target, NotRun("refused", f"{size / 2**20:.1f} MiB, over the limit of "
                                                  f"{MAX_DOCUMENT_BYTES // 2**20} MiB a document may have (not read)"))]
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix not in _BY_SUFFIX and _MISSING:
        missing = ", ".join(sorted(set(_MISSING.values())))
        raise DocumentError(f"{target}: no reader for {suffix!r} here: {missing} is not installed "
                            "(pip install 'transform-conformance[documents]')")
    if suffix not in _BY_SUFFIX:
        raise DocumentError(f"{target}: no reader for {suffix or 'files without a suffix'!r} "
                            f"(known: {', '.join(sorted(_BY_SUFFIX))})")
    return _BY_SUFFIX[suffix](target)
