"""Console text made safe: anything that came from input (a file name, a document's output or exception message)
is printed through :func:`printable`.

Why: a file name holding ``ESC [2K`` and a carriage return rewrote its own line, so a failing document read "ok" on
the terminal.  Control characters (C0, DEL, C1), line and paragraph separators, format characters such as the
bidirectional overrides, and lone surrogates (undecodable bytes in a file name) are written as Python escapes
(``\\x1b``, ``\\r``, ``\\u202e``), visible and inert; everything else, non-ASCII letters included, is kept.
"""

from __future__ import annotations

import unicodedata

_UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in "\t\n\r":
        return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: object) -> str:
    """``text`` with every character that could move the cursor, recolour or reorder the line escaped."""
    s = str(text)
    if s.isprintable() and s.isascii():
        return s
    return "".join(_escape(ch) if unicodedata.category(ch) in _UNSAFE else ch for ch in s)
