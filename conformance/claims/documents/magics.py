"""IPython syntax in a cell (``%timeit``, ``%%time``, ``%matplotlib``, ``!pip``) turned into the Python it stands for.

Why: a cell holding ``%timeit f(x)`` and, on its next line, ``def f(x): ...`` used to be skipped whole, so a later
cell ran with a stale ``f`` and the checker judged the wrong function.  Now each IPython line becomes one line of
Python (line numbers stay the document's):

- ``%timeit [options] STMT`` runs ``STMT`` once, showing nothing (``%timeit`` returns nothing); ``%time STMT`` runs
  it once and shows its value, as IPython does.  ``%%timeit``/``%%time``/``%%capture`` run the cell body once
  (``%%timeit``'s setup statement on its first line first);
- ``%matplotlib inline``, ``%load_ext`` and every other line magic are dropped (the rest of the cell runs);
- shell lines (``!pip install x``, ``%pip install x``) are not run: the checker installs nothing.  The packages
  they would install are kept, so a later ``ModuleNotFoundError`` can say where the document installs them;
- any other cell magic (``%%bash``, ``%%writefile``) is not Python: the cell is skipped, saying so.

A cell that already parses as Python is never touched: ``%`` at the start of a continuation line is the modulo
operator, and only text that is not Python can be IPython syntax.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import shlex
import tokenize

_LINE_MAGIC = re.compile(r"^(?P<indent>\s*)%(?P<name>\w+)(?P<rest>.*)$")
_CELL_MAGIC = re.compile(r"^\s*%%(?P<name>\w+)(?P<rest>.*)$")
_SHELL = re.compile(r"^(?P<indent>\s*)!(?P<rest>.*)$")
_ASSIGNED = re.compile(r"^(?P<indent>\s*)[\w.]+\s*=\s*[!%]")
_HELP = re.compile(r"^\s*\?*[\w.]+\?{1,2}\s*$|^\s*\?{1,2}[\w.]+\s*$")
_TIMEIT_OPTION = re.compile(r"\s*(?:-[nrp]\s*\d+|-[a-zA-Z])(?=\s|$)")
_BODY_MAGICS = {"timeit", "time", "capture", "prun"}
_INSTALLERS = {"pip", "conda", "mamba", "micromamba", "uv"}


@dataclasses.dataclass
class Prepared:
    """The Python a cell runs, what of it does not run and why, and the packages its shell lines install."""

    python: str
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: str = ""
    installs: list[str] = dataclasses.field(default_factory=list)


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def _open_statement(prefix: list[str]) -> bool:
    """Whether the lines so far end inside a bracket, a string or a backslash continuation (so the next line
    continues a statement and cannot be IPython syntax)."""
    text = "".join(prefix)
    if not text.strip():
        return False
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except tokenize.TokenError:
        return True
    except (IndentationError, SyntaxError):
        return False
    return text.rstrip("\n").endswith("\\")


def _timeit_statement(rest: str) -> str:
    """``%timeit``'s statement without its options (``-n 10 -r 3 -q -o``); spacing inside the statement kept."""
    while True:
        option = _TIMEIT_OPTION.match(rest)
        if option is None:
            return rest.strip()
        rest = rest[option.end():]


def packages_installed_by(command: str) -> list[str]:
    """The packages a ``pip install ...`` (or conda/uv) shell line would install, as import-like names."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    words = [w for w in words if w not in ("python", "-m", "python3", "sudo")]
    if len(words) < 2 or words[0] not in _INSTALLERS or "install" not in words[1:3]:
        return []
    names = []
    for w in words[words.index("install") + 1:]:
        if w.startswith("-") or "/" in w:
            continue
        name = re.split(r"[\[<>=!~;@ ]", w, maxsplit=1)[0]
        if name:
            names.append(name.lower().replace("-", "_"))
    return names


def _line(line: str, prepared: Prepared) -> str:
    """One IPython line as one line of Python (its newline kept)."""
    end = "\n" if line.endswith("\n") else ""
    text = line.rstrip("\n")
    if _ASSIGNED.match(text):
        indent = _ASSIGNED.match(text).group("indent")  # type: ignore[union-attr]
        prepared.notes.append(f"not run (IPython assigns the output of a magic or shell command): {text.strip()}")
        return f"{indent}pass{end}"
    shell = _SHELL.match(text)
    if shell:
        prepared.notes.append(f"shell line not run: !{shell.group('rest').strip()}")
        prepared.installs.extend(packages_installed_by(shell.group("rest")))
        return f"{shell.group('indent')}pass{end}"
    magic = _LINE_MAGIC.match(text)
    if magic is None:
        if _HELP.match(text):
            prepared.notes.append(f"IPython help dropped: {text.strip()}")
            return f"{text[:len(text) - len(text.lstrip())]}pass{end}"
        return line
    indent, name, rest = magic.group("indent"), magic.group("name"), magic.group("rest")
    if name == "timeit":
        stmt = _timeit_statement(rest)
        prepared.notes.append(f"%timeit runs its statement once: {stmt}")
        # A one-line loop runs the statement once and shows nothing, as %timeit shows no value.
        return f"{indent}for __timeit_once__ in (0,): {stmt}{end}" if stmt else f"{indent}pass{end}"
    if name == "time":
        stmt = rest.strip()
        prepared.notes.append(f"%time runs its statement once: {stmt}")
        return f"{indent}{stmt}{end}" if stmt else f"{indent}pass{end}"
    if name in _INSTALLERS:
        prepared.notes.append(f"shell line not run: %{name}{rest}")
        prepared.installs.extend(packages_installed_by(name + rest))
        return f"{indent}pass{end}"
    prepared.notes.append(f"IPython magic dropped: %{name}{rest}")
    return f"{indent}pass{end}"


def prepare(source: str) -> Prepared:
    """The Python that ``source`` (a notebook or IPython cell) runs; ``source`` itself when it is already Python."""
    if _parses(source):
        return Prepared(source)
    lines = source.splitlines(keepends=True)
    prepared = Prepared("")
    out: list[str] = []
    first = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if first is not None:
        cell = _CELL_MAGIC.match(lines[first].rstrip("\n"))
        if cell:
            name = cell.group("name")
            if name not in _BODY_MAGICS:
                return Prepared(source, skipped=f"the cell magic %%{name} is not Python")
            setup = _timeit_statement(cell.group("rest")) if name == "timeit" else ""
            prepared.notes.append(f"%%{name}: the cell body runs once")
            out = [*lines[:first], f"{setup or 'pass'}\n"]
            lines = lines[first + 1:]
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!", "?")) or "?" in stripped or _ASSIGNED.match(line):
            if not _open_statement(out):
                out.append(_line(line, prepared))
                continue
        out.append(line)
    prepared.python = "".join(out)
    return prepared
