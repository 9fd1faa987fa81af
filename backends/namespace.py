"""An array-API namespace built from a name map, for a library that has no array-api-compat namespace.

The battery's functions are written against the array API standard (``xp.sin``, ``xp.linalg.solve``,
``xp.sum(x, axis=..., keepdims=...)``).  What an adapter's ``xp`` must offer is the *namespace contract*:
the getattr paths the battery calls, listed by ``python -m conformance namespace`` (and, for one backend,
which of them its namespace lacks).  A name the namespace lacks is never an error: the checks that use it skip
with "<library> lacks <name>".  So a mapping forgotten here must not look like a feature the library lacks,
which is why an unmapped name falls through to the library's module, then to the same function under another
public name of the alias table (``backends/aliases.py``: ``pow`` / ``power``).

Use::

    xp = MappedNamespace(tf.experimental.numpy, library="tensorflow", names={
        "concat": "concatenate",                 # another attribute of the module
        "linalg.solve": tf.linalg.solve,         # any callable, at a dotted path
        "asarray": lambda v, dtype=None: tf.constant(v, dtype=dtype),
    })

A mapped value is a string (an attribute path of ``module``, the top one also for dotted names:
``"linalg.solve": "math.solve"`` is ``module.math.solve``) or any object (usually a function written to take
the standard's arguments).  Dotted names build sub-namespaces (``linalg``) that fall through to
``module.linalg`` where the library has one.  A name mapped to :data:`MISSING` is declared absent: getattr
raises AttributeError even where the module has an attribute of that name that is another function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backends.aliases import resolve, standard_fallback

MISSING = object()
"""Map a name to this to declare the library has no function of the standard's meaning under it."""


class MappedNamespace:
    """``module``'s functions under the standard's names, ``names`` first (see the module docstring)."""

    def __init__(self, module: Any, names: Mapping[str, Any] | None = None, *, library: str = "",
                 root: Any = None) -> None:
        own: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for path, value in (names or {}).items():
            head, dot, rest = path.partition(".")
            if dot:
                nested.setdefault(head, {})[rest] = value
            else:
                own[path] = value
        self._module, self._library = module, library
        self._root = module if root is None else root  # where a mapped string is looked up, for nested names too
        self._own = own
        self._nested = {head: MappedNamespace(_sub(module, head), sub, library=library, root=self._root)
                        for head, sub in nested.items()}
        self.__name__ = f"{getattr(module, '__name__', type(module).__name__)} (mapped)"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._lookup(name)
        except AttributeError as exc:  # named, so that the battery can tell a lacking name from a library's error
            raise AttributeError(str(exc), name=name, obj=self) from None

    def _lookup(self, name: str) -> Any:
        if name in self._nested:
            return self._nested[name]
        if name in self._own:
            value = self._own[name]
            if value is MISSING:
                raise AttributeError(f"{self.__name__} declares no {name!r} (mapped to MISSING)")
            if isinstance(value, str):
                found = resolve(self._root, value)
                if found is None:
                    raise AttributeError(f"{self.__name__}: {name!r} is mapped to {value!r}, which the module lacks")
                return found
            return value
        if self._module is None:
            raise AttributeError(f"{self.__name__} has no {name!r}")
        return standard_fallback(self._module, name, self._library)

    def __dir__(self) -> list[str]:
        return sorted({*self._own, *self._nested, *dir(self._module)})


def _sub(module: Any, head: str) -> Any:
    """``module.head`` (``tf.linalg``) where the library has it, else None (only the mapped names exist)."""
    return getattr(module, head, None) if module is not None else None
