"""Failures the machine causes, not the document: no GPU, a package not installed, no network.

Why: a tutorial written for a GPU stopped at its first CUDA call on a CPU machine, and the checker reported that
cell, and each later cell failing with ``NameError`` because of it, as false claims.  A cell that fails for one of
these causes gets the verdict ``environment`` (the cause named once, with the fix); the cells that fail only
because of it are downstream of it (``downstream``).  A genuine error in the document's own code stays false.

The causes are a table: each entry is a matcher registered with :func:`environment`, with the cause's name and
the fix, and reads the exception's type (dotted, as the harness reports it) and message.  A new cause is one new
decorated function, not another branch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[str, str], "bool | str"]
"""(exception type, message) -> False when it does not apply; True, or a detail filling the name's ``{}``."""


@dataclasses.dataclass(frozen=True)
class Pattern:
    name: str
    fix: str
    match: Matcher


@dataclasses.dataclass(frozen=True)
class Cause:
    """One environment cause as found: ``name`` ("no CUDA", "package not installed: foo") and how to get past it."""

    name: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {"cause": self.name, "fix": self.fix}


PATTERNS: list[Pattern] = []


def environment(name: str, fix: str) -> Callable[[Matcher], Matcher]:
    """Register a matcher for the cause ``name`` (``{}`` in it is filled with the matcher's detail)."""

    def register(fn: Matcher) -> Matcher:
        PATTERNS.append(Pattern(name, fix, fn))
        return fn

    return register


def _short(kind: str) -> str:
    return kind.rsplit(".", 1)[-1]


_CUDA = re.compile(
    r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|No CUDA GPUs are available|no CUDA-capable device"
    r"|CUDA driver initialization failed|torch\.cuda\.is_available\(\) is False|cuda runtime error"
    r"|libcuda\.so|libcudart|Unknown backend:? '?(?:gpu|cuda|rocm)'?|no platforms that are instances of (?:gpu|cuda)"
    r"|Unable to initialize backend '(?:cuda|gpu|rocm)'|Backend '(?:gpu|cuda)' failed to initialize"
    r"|CUDA backend failed to initialize", re.IGNORECASE)


@environment("no CUDA", "run it on a machine with an NVIDIA GPU, or map the device: --device-map cuda=cpu")
def _no_cuda(kind: str, message: str) -> bool:
    return _CUDA.search(message) is not None


_NOT_LINKED = re.compile(r"not (?:linked|compiled) with support for (\w+) devices|The MPS backend is supported on "
                         r"MacOS|MPS backend is not available", re.IGNORECASE)


@environment("no {} device", "run it on a machine with that device, or map it: --device-map DEVICE=cpu")
def _no_device(kind: str, message: str) -> bool | str:
    found = _NOT_LINKED.search(message)
    if found is None:
        return False
    return found.group(1) if found.group(1) else "mps"


_NO_MODULE = re.compile(r"No module named '([^']+)'")


def installed(top: str) -> bool:
    """Whether a top-level package is importable here (the sandbox runs this interpreter and its packages)."""
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


@environment("package not installed: {}", "install it where check-doc runs (pip install ...), then rerun")
def _missing_package(kind: str, message: str) -> bool | str:
    """A missing top-level package only: ``No module named 'torch.func.foo'`` with torch installed is the document's
    own error (that module does not exist in this version)."""
    if _short(kind) not in ("ModuleNotFoundError", "ImportError"):
        return False
    found = _NO_MODULE.search(message)
    if found is None:
        return False
    top = found.group(1).split(".")[0]
    return top if not installed(top) else False


@environment("a native library is missing", "install the system library the package needs, then rerun")
def _missing_library(kind: str, message: str) -> bool:
    return _short(kind) in ("ImportError", "OSError") and "cannot open shared object file" in message


_NETWORK_TYPES = {"URLError", "gaierror", "herror", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
                  "ConnectionAbortedError", "NewConnectionError", "MaxRetryError", "NameResolutionError",
                  "ConnectError", "ConnectTimeout", "LocalEntryNotFoundError", "OfflineModeIsEnabled"}
_NETWORK = re.compile(r"Temporary failure in name resolution|Name or service not known|nodename nor servname"
                      r"|Network is unreachable|No address associated with hostname|Failed to establish a new "
                      r"connection|We couldn't connect to|outgoing traffic has been disabled|Error downloading"
                      r"|urlopen error", re.IGNORECASE)


@environment("no network", "the sandbox has no network: run the download once outside and point the document at "
                           "the local copy")
def _no_network(kind: str, message: str) -> bool:
    return _short(kind) in _NETWORK_TYPES or _NETWORK.search(message) is not None


@environment("no display", "the sandbox has no display: use a non-interactive backend (MPLBACKEND=Agg)")
def _no_display(kind: str, message: str) -> bool:
    return _short(kind) == "TclError" and "display" in message


def cause_of(exception: dict[str, Any] | None) -> Cause | None:
    """The environment cause of a cell's exception (``{"type", "message", ...}``), or None for the document's own."""
    if not exception:
        return None
    kind, message = str(exception.get("type") or ""), str(exception.get("message") or "")
    for pattern in PATTERNS:
        found = pattern.match(kind, message)
        if found:
            return Cause(pattern.name.format(found) if isinstance(found, str) else pattern.name, pattern.fix)
    return None
