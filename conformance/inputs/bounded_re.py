"""Regular expressions from input files, matched under a time limit.

A claims file's ``expect`` is a Python regular expression, matched against a snippet's output.  Python's
``re`` backtracks: ``'^(a|aa)+$'`` against forty ``a`` and a ``b`` runs for hours, and it holds the GIL while
it does, so neither a thread nor a signal in this process can stop it.  The match therefore runs in a child
interpreter that is killed at the limit (about 20 ms per match, a handful per article).

Why not a linear-time engine (``google-re2``): it installs here as a wheel, but it is a different language.
Its ``$`` matches only at the very end of the text, where Python's also matches before a final newline, so
``'^tensor\\(4\\.\\)$'`` against ``"tensor(4.)\\n"`` would turn from a match into none and silently change a
fix's verdict; and it has no backreferences or lookaround.  Claims files are written in Python's syntax, so
they are matched by Python's engine.
"""

from __future__ import annotations

import json
import subprocess
import sys

TIMEOUT = 2.0
"""Seconds one match may take: any sane pattern on a snippet's output needs microseconds."""
MEMORY_LIMIT = 1 << 30
"""Bytes of address space for the matching process (a pattern cannot take the machine's memory either)."""

_CHILD = r"""
import json, re, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
except (ImportError, ValueError, OSError):
    pass
request = json.loads(sys.stdin.read())
sys.stdout.write("1" if re.search(request["pattern"], request["text"]) is not None else "0")
"""


class RegexTimeout(Exception):
    """The match ran past its limit (catastrophic backtracking) or could not finish: no answer."""


def search(pattern: str, text: str, *, timeout: float = TIMEOUT) -> bool:
    """Whether ``re.search(pattern, text)`` finds a match; :class:`RegexTimeout` when it cannot tell in time.

    ``pattern`` must already compile (the claims loader checks that); the answer is Python's own.
    """
    request = json.dumps({"pattern": pattern, "text": text})
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _CHILD, str(MEMORY_LIMIT)], input=request,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RegexTimeout(f"the regular expression {_short(pattern)} ran past {timeout:g} s (it backtracks "
                           "without end on this output: write it without nested repetition such as (a|aa)+)") from None
    if done.returncode != 0 or done.stdout not in ("0", "1"):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RegexTimeout(f"the regular expression {_short(pattern)} could not be matched: {last[:200]}")
    return done.stdout == "1"


def _short(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 60 else pattern[:57] + "...")
