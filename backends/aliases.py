"""Other public names libraries export for the array API standard's differentiable functions: one table.

Libraries keep their older names beside the standard's (NumPy's ``arccos`` for ``acos``, ``power`` for
``pow``, ``concatenate`` for ``concat``) and the standard itself repeats some functions in ``linalg``
(``linalg.matmul`` for ``matmul``).  Each name can be a separate function object in a library, with its own
registration and its own derivative rules, so a bug can hide in one name while the other is right (HIPS
autograd's ``concat`` is not traced at all, its ``concatenate`` is).  The table is defined once, here: the
function table (``conformance/battery/functions.py``) checks every alias a library exports as its own row, and the
adapters whose array namespace is a shim (MLX's, autograd's) resolve a standard name through it, so that a
name missing from our mapping is never reported as a function missing from the library
(``tests/test_aliases.py`` enforces that).

Entries are the array API's renames of NumPy names (the standard's "NumPy compatibility" list: the inverse
trigonometric and hyperbolic functions, ``concat``, ``permute_dims``, ``pow``), ``abs`` / ``absolute``, the
older cumulative names, and the standard's own ``linalg`` duplicates.  An alias is only an alias where it
takes the standard's call: :data:`NOT_ALIASES` lists the libraries where the same name is another function.
"""

from __future__ import annotations

from typing import Any

ALIASES: dict[str, tuple[str, ...]] = {
    "abs": ("absolute",),
    "acos": ("arccos",),
    "acosh": ("arccosh",),
    "asin": ("arcsin",),
    "asinh": ("arcsinh",),
    "atan": ("arctan",),
    "atan2": ("arctan2",),
    "atanh": ("arctanh",),
    "pow": ("power",),
    "concat": ("concatenate",),
    "permute_dims": ("transpose",),
    "cumulative_sum": ("cumsum",),
    "cumulative_prod": ("cumprod",),
    "matmul": ("linalg.matmul",),
    "tensordot": ("linalg.tensordot",),
    "vecdot": ("linalg.vecdot",),
    "linalg.outer": ("outer",),
    "linalg.trace": ("trace",),
}
"""Standard name -> the other names (getattr paths) some library exports for the same function."""

NOT_ALIASES: dict[tuple[str, str], str] = {
    ("torch", "transpose"): "torch.transpose(x, dim0, dim1) swaps two axes: another function under the name",
}
"""(library distribution, alias) -> why that library's function of that name is not the standard's."""

STANDARD_OF: dict[str, str] = {alias: std for std, names in ALIASES.items() for alias in names}
"""Alias -> its standard name."""


def names_of(name: str) -> tuple[str, ...]:
    """Every name of the function ``name`` (standard or alias) names, the standard one first."""
    std = STANDARD_OF.get(name, name)
    return (std, *ALIASES.get(std, ()))


def resolve(namespace: Any, path: str) -> Any:
    """``namespace``'s attribute at the getattr path ``path`` (``linalg.solve``), or None where it has none."""
    obj = namespace
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    return obj


def standard_fallback(module: Any, name: str, library: str = "") -> Any:
    """``module.name``, or the same function under another name of the table where ``module`` lacks ``name``.

    What a shim namespace's ``__getattr__`` calls: a library that exports ``power`` but not ``pow`` (MLX before
    it added the standard's names) then runs the ``pow`` rows instead of skipping them as missing.  Raises
    AttributeError, as ``getattr`` would, when no name of the function is there.
    """
    for candidate in names_of(name) if name in ALIASES else (name,):
        if (library, candidate) in NOT_ALIASES:
            continue
        found = resolve(module, candidate)
        if found is not None:
            return found
    raise AttributeError(f"{getattr(module, '__name__', module)!r} has no {name!r} under any name of the alias table")
