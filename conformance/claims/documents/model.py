"""What a reader produces: a document made of code cells, each with where it came from and what it claims to print.

Kept free of any library import so readers, the CLI and tests can use it without torch or jax.
"""

from __future__ import annotations

import dataclasses
from typing import Any

DISPLAY_MODES = ("none", "last", "all")
"""How a cell shows expression values: a script shows none, a notebook cell its last expression, a doctest
example every expression statement (like the interactive prompt)."""


class DocumentError(ValueError):
    """A target that cannot be read; the message says where and how to fix it (readers raise it)."""


@dataclasses.dataclass
class Expected:
    """An output the document states.  ``scope`` is ``cell`` (the whole cell's output: a stored notebook output,
    a doctest want, an output block after the code) or ``line`` (one statement's output: a trailing comment)."""

    text: str
    origin: str
    line: int
    """Line in the document file where the stated output is written."""
    scope: str = "cell"
    statement_line: int | None = None
    """For ``scope == 'line'``: the line of the statement inside the cell (1-based, cell-relative)."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Cell:
    """One piece of code the document runs, in document order."""

    source: str
    line: int
    """Line in the document file of the cell's first source line (1-based)."""
    display: str = "none"
    expected: list[Expected] = dataclasses.field(default_factory=list)
    label: str = ""
    """How people find the cell: ``cell 3`` in a notebook, ``example 2`` in a docstring; empty for line-only."""
    skipped: str = ""
    """Non-empty: the reason this cell is not run (a cell magic that is not Python, a doctest ``+SKIP``)."""
    python: str = ""
    """The Python the cell runs when it differs from ``source`` (IPython syntax translated, line for line)."""
    notes: list[str] = dataclasses.field(default_factory=list)
    """What of the source does not run as written, and why (``%timeit`` runs once, ``!pip`` is not run)."""
    installs: list[str] = dataclasses.field(default_factory=list)
    """Packages the cell's shell lines (``!pip install x``) would install: a later missing module names them."""
    raises: str = ""
    """Non-empty: where the document states that this cell raises (a ``raises-exception`` tag, a ``# Raises ...``
    comment, "the following will raise an error" right before it); a raised exception is then what it shows."""
    illustrates: str = ""
    """Non-empty: where the document introduces this block as an equivalence or pseudo-code ("``vmap(f)(x)`` is
    equivalent to:") rather than an example; should it raise, that is no finding about the document."""
    assumed: list[str] = dataclasses.field(default_factory=list)
    """Non-empty only on the checker's own prelude cell (``prelude.py``): the imports the document assumes but
    never writes (``import mlx.core as mx``).  It is no cell of the document and makes no claim of its own."""

    @property
    def code(self) -> str:
        """What runs: the translated Python, else the source."""
        return self.python or self.source

    def __post_init__(self) -> None:
        if self.display not in DISPLAY_MODES:
            raise ValueError(f"display {self.display!r} is not one of {DISPLAY_MODES}")


NOT_RUN_STATUSES = ("refused", "skipped")
"""``refused``: a document over a limit (its size); ``skipped``: a path the tree walk does not follow (a symlink
leaving the given directory)."""


@dataclasses.dataclass(frozen=True)
class NotRun:
    """Why a document found in a target is reported but not read or run."""

    status: str
    reason: str

    def __post_init__(self) -> None:
        if self.status not in NOT_RUN_STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {NOT_RUN_STATUSES}")


@dataclasses.dataclass
class Document:
    """A document as the checker sees it: cells plus where it lives and how to reproduce its check."""

    source: str
    """The path, or ``module:NAME`` for docstrings."""
    kind: str
    cells: list[Cell]
    title: str = ""
    file: str = ""
    """The file the line numbers refer to (for docstrings: the module's source file)."""
    sha256: str = ""
    libraries: dict[str, str] = dataclasses.field(default_factory=dict)
    """Installed versions of the libraries the document imports, filled in by the checker."""
    namespace: str = ""
    """A module whose names the cells start with (docstring examples run in their module's namespace)."""
    reproducer: str = ""
    not_run: NotRun | None = None
    """Set for a document that is only reported (too large, a symlink out of the tree): no cells, nothing runs."""
