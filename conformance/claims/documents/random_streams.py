"""Does the code that produced an output draw random numbers?  The hint behind a stored output's ``random-stream``
reason (``output_reasons``): numbers that differ wholesale downstream of a PRNG key or a global generator were
most likely drawn from another stream, not computed wrongly.

Read statically from the cells' code (``ast`` and ``tokenize``; nothing is run): which library's random module the
code uses, and whether the values flow from it into the output.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class RandomUse:
    library: str
    seeded: bool
    code: str
    """The source line that draws, stripped of its comment."""


_RANDOM_MODULES = {"jax.random": "jax", "numpy.random": "numpy", "torch.random": "torch"}
"""Modules whose imported names draw: ``from jax import random``, ``import jax.random as jr``,
``from jax.random import normal``."""
_SEEDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("torch", re.compile(r"\b(?:torch|torch\.cuda)\.manual_seed(?:_all)?\(|\.manual_seed\(")),
    ("numpy", re.compile(r"\b(?:np|numpy)\.random\.seed\(")),
    ("python", re.compile(r"(?<![\w.])random\.seed\(")),
)
"""Calls that seed a library's global stream: every later draw of that library is seeded."""
_DRAWS: tuple[tuple[str, bool, re.Pattern[str]], ...] = (
    ("jax", True, re.compile(r"\bjax\.random\b|\bPRNGKey\(")),  # a JAX draw always comes from a key
    ("torch", False, re.compile(r"\btorch\.(?:rand|randn|randint|randperm|normal|bernoulli|multinomial|rand_like|"
                                r"randn_like|randint_like)\(|\bnn\.(?:Linear|Conv[123]d|Bilinear|Embedding|LSTM|"
                                r"GRU|RNN)\(|\bnn\.init\.\w+\(|\.(?:normal_|uniform_|bernoulli_|random_)\(")),
    ("numpy", True, re.compile(r"\bdefault_rng\(\s*[\w(]|\bRandomState\(\s*[\w(]")),
    ("numpy", False, re.compile(r"\b(?:np|numpy)\.random\.(?!seed\()\w+\(")),
    ("python", False, re.compile(r"(?<![\w.])random\.(?:random|uniform|gauss|normalvariate|randint|choice|"
                                 r"shuffle|sample)\(")),
)
"""Calls that draw random numbers (or make a generator, or initialise weights at random)."""

HINTS = {
    "jax": "random stream changed (e.g. jax_threefry_partitionable default in newer JAX: a one-time change of the "
           "numbers drawn from a given key, jax-ml/jax discussion #18480), or the stored outputs came from running "
           "the cells in another order",
    "torch": "random stream changed (e.g. a torch release or device other than the one the outputs were stored "
             "with: PyTorch promises the same numbers for a seed only on the same release and platform), or the "
             "stored outputs came from running the cells in another order",
    "numpy": "random stream changed (e.g. NumPy's Generator methods promise no stream across versions, NEP 19), "
             "or the stored outputs came from running the cells in another order",
    "python": "random stream changed (e.g. the stored outputs came from running the cells in another order)",
}


def _code_only(source: str) -> str:
    """``source`` without comments (and without the text of strings), where it tokenizes; else as it is."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), source)
    lines = io.StringIO(source).readlines()
    blank = {(t.start, t.end) for t in toks if t.type in (tokenize.COMMENT, tokenize.STRING)}
    if not blank:
        return source
    out = [list(line) for line in lines]
    for (sr, sc), (er, ec) in blank:
        for r in range(sr, er + 1):
            row = out[r - 1]
            lo = sc if r == sr else 0
            hi = ec if r == er else len(row)
            for c in range(lo, min(hi, len(row))):
                if row[c] != "\n":
                    row[c] = " "
    return "".join("".join(row) for row in out)


@dataclasses.dataclass
class _Flow:
    """What is known, statement by statement, about which names hold random numbers."""

    jax_random: bool = False
    seeded: set[str] = dataclasses.field(default_factory=set)
    tainted: dict[str, RandomUse] = dataclasses.field(default_factory=dict)
    """Name -> the draw it comes from."""
    modules: dict[str, str] = dataclasses.field(default_factory=dict)
    """Name of an imported random module or function (``jr``, ``random``, ``normal``) -> its library."""
    functions: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    """A function or class defined -> the names its body reads (looked up when it is used, not when defined)."""

    def _reads(self, read: set[str]) -> set[str]:
        seen, todo = set(), list(read)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.functions.get(name, ()))
        return seen

    def draws(self, code: str, original: str) -> list[RandomUse]:
        for library, rx in _SEEDS:
            if not (library == "python" and self.jax_random) and rx.search(code):
                self.seeded.add(library)
        rules = [d for d in _DRAWS if not (self.jax_random and d[0] == "python")]
        found = []
        for library, seeded, rx in rules:
            for m in rx.finditer(code):
                found.append((m.start(), RandomUse(library, seeded or library in self.seeded,
                                                   _line_at(original, code, m.start()))))
        return [use for _, use in sorted(found, key=lambda f: f[0])]

    def statement(self, st: _Statement) -> RandomUse | None:
        """Follow one statement: the draw it is downstream of (``None``: none), its bound names updated."""
        if st.imports is not None:
            for name in st.stored:
                self.tainted.pop(name, None)
                self.functions.pop(name, None)
                if name in st.imports:
                    self.modules[name] = st.imports[name]
                    self.jax_random = self.jax_random or (st.imports[name] == "jax" and name == "random")
                else:
                    self.modules.pop(name, None)
            return None
        read = self._reads(st.read)
        drawn = self.draws(st.code, st.original)
        for name in sorted(read & self.modules.keys()):
            library = self.modules[name]
            line = next((ln for ln in st.original.splitlines() if re.search(rf"\b{re.escape(name)}\b", ln)), "")
            drawn.append(RandomUse(library, library == "jax" or library in self.seeded, line.strip()[:100]))
        if drawn:  # the last draw of the statement, a seeded one first (np.random.default_rng(0) is both)
            use: RandomUse | None = next((u for u in reversed(drawn) if u.seeded), drawn[-1])
        else:
            use = next((self.tainted[n] for n in sorted(read) if n in self.tainted), None)
        for name in st.stored:
            if name in st.defines:
                self.functions[name] = st.read
            else:
                self.functions.pop(name, None)
            if use is not None:
                self.tainted[name] = use
            elif name not in st.read:
                self.tainted.pop(name, None)  # rebound to something not random
        return use


def _line_at(original: str, code: str, pos: int) -> str:
    start = code.rfind("\n", 0, pos) + 1
    end = code.find("\n", pos)
    end = end if end >= 0 else len(code)
    return original[start:start + len(code[start:end].rstrip())].strip()[:100]  # the line without its comment


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names read, names bound) anywhere in ``node``; an attribute or item stored to binds its base name."""
    read, stored = set(), set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            (stored if isinstance(n.ctx, (ast.Store, ast.Del)) else read).add(n.id)
        elif isinstance(n, (ast.Attribute, ast.Subscript)) and isinstance(n.ctx, ast.Store):
            base = n.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                stored.add(base.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(n.name)
        elif isinstance(n, ast.alias):
            stored.add((n.asname or n.name).split(".")[0])
    return read, stored


@dataclasses.dataclass
class _Statement:
    code: str
    """Without comments and string contents, same length and lines as ``original``."""
    original: str
    read: set[str]
    stored: set[str]
    imports: dict[str, str] | None = None
    """For an import: the names it binds that draw, with their library."""
    defines: set[str] = dataclasses.field(default_factory=set)
    """For a ``def``/``class``: the name it defines."""


def _random_imports(stmt: ast.Import | ast.ImportFrom) -> dict[str, str]:
    out = {}
    for alias in stmt.names:
        if isinstance(stmt, ast.Import):
            if alias.name in _RANDOM_MODULES and alias.asname:
                out[alias.asname] = _RANDOM_MODULES[alias.name]
        elif f"{stmt.module}.{alias.name}" in _RANDOM_MODULES:  # from jax import random
            out[alias.asname or alias.name] = _RANDOM_MODULES[f"{stmt.module}.{alias.name}"]
        elif stmt.module in _RANDOM_MODULES:  # from jax.random import normal
            out[alias.asname or alias.name] = _RANDOM_MODULES[stmt.module]
    return out


def _statements(source: str) -> list[_Statement]:
    """Each top-level statement of ``source`` (all of it as one where it does not parse)."""
    code = _code_only(source)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        read = set(re.findall(r"[A-Za-z_]\w*", code))
        stored = set(re.findall(r"^\s*([A-Za-z_]\w*)\s*=[^=]", code, re.M))
        return [_Statement(code, source, read, stored)]
    code_lines, lines = io.StringIO(code).readlines(), io.StringIO(source).readlines()
    out = []
    for stmt in tree.body:
        lo, hi = stmt.lineno - 1, stmt.end_lineno or stmt.lineno
        read, stored = _names(stmt)
        imports = _random_imports(stmt) if isinstance(stmt, (ast.Import, ast.ImportFrom)) else None
        defines = {stmt.name} if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else set()
        out.append(_Statement("".join(code_lines[lo:hi]), "".join(lines[lo:hi]), read, stored, imports, defines))
    return out


def random_use(source: str | Sequence[str]) -> RandomUse | None:
    """The random draw an output is downstream of, or ``None``.

    ``source`` is the code that produced the output: its cells in order (the last one printed it), or one text.
    Names are followed statement by statement: a statement that draws (``jax.random.normal``, ``torch.randn``,
    ``rng.random`` where ``rng = np.random.default_rng(0)``, an ``nn.Linear`` initialised at random) or reads a
    name that holds random numbers binds its names to that draw; the output is downstream when a statement of
    the last cell is.  A draw is seeded when it comes from a key or generator, or after its library's global seed
    (``torch.manual_seed``, ``np.random.seed``).
    """
    cells = [source] if isinstance(source, str) else list(source)
    flow = _Flow()
    found: RandomUse | None = None
    for index, cell in enumerate(cells):
        for statement in _statements(cell):
            use = flow.statement(statement)
            if index == len(cells) - 1 and use is not None:
                found = use
    return found


def random_hint(use: RandomUse) -> str:
    """The likely cause, in words, for numbers that differ wholesale downstream of ``use``."""
    if not use.seeded:
        return (f"the output is downstream of random numbers drawn without a seed (`{use.code}`): they differ on "
                "every run, so no stored output of them can be reproduced")
    return f"{HINTS[use.library]}; the output is downstream of a seeded random draw (`{use.code}`)"
