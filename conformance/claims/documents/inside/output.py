"""What a cell prints and shows, captured inside the sandbox: a capped stdout and the display of a value.

Moved out of the harness so it stays one job; the harness's records carry these texts.
"""

from __future__ import annotations

import io
import tokenize
from typing import Any

CAP = 20000
"""Characters kept of one stream of a cell (the host keeps no more than this of any text)."""


class Capture(io.TextIOBase):
    """A stdout that keeps at most :data:`CAP` characters and counts the rest: a flood costs nothing."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, s: Any) -> int:
        s = str(s)
        room = CAP - self.size
        if room > 0:
            self.parts.append(s[:room])
        self.size += min(len(s), max(room, 0))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        return "".join(self.parts)


def ends_with_semicolon(source: str) -> bool:
    """IPython shows a cell's last value unless the line ends with ';' (comments aside)."""
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER,
                                tokenize.INDENT, tokenize.DEDENT):
                last = tok.string
    except (tokenize.TokenError, SyntaxError):
        return False
    return last == ";"


def display(value: Any) -> str | None:
    """The repr a notebook shows for ``value`` (None shows nothing), cut to fit the report channel."""
    if value is None:
        return None
    text = repr(value)
    if len(text) > CAP:
        half = CAP // 2
        text = f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
    return text
