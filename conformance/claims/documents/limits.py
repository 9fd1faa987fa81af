"""What one document may cost the host: the size of a file read, of the records it reports, of every stored text.

Why: a 280 MB notebook took 5.9 GB of host memory and produced a 280 MB results file.  A document over
:data:`MAX_DOCUMENT_BYTES` is not read at all (its outcome is ``refused``, with the limit in the reason); every string
that reaches the results file goes through :func:`clip_all`, which keeps the head and tail of a long text around a
``[... N characters cut ...]`` marker; the records a session sends are read up to :data:`CHANNEL_CAP` bytes.
"""

from __future__ import annotations

from typing import Any

MiB = 1024**2
MAX_DOCUMENT_BYTES = 32 * MiB
"""The largest document file read.  Notebooks grow with embedded images; 32 MiB holds any text document and most
notebooks with plots (clear large outputs with ``jupyter nbconvert --clear-output`` to check a bigger one)."""
TEXT_CAP = 20_000
"""Characters kept of any one text in the results (a cell's source or output, a stated output, a reason): the
same as the harness keeps of a cell's stdout."""
CHANNEL_CAP = 16 * MiB
"""Bytes of records one session may send (parsed, they take several times that on the host).  Each cell's record
is already capped in the sandbox (its output to 20,000 characters), so only a document with hundreds of cells that
all print that much, or a hostile one, comes near it."""


def utf8(text: str) -> str:
    """``text`` with lone surrogates replaced, so it can be written as UTF-8 (the results file is).

    They come from bytes that are not UTF-8: a file name (Python decodes it with ``surrogateescape``, so byte
    0xff is U+DCFF, written here as ``\\xff``) or a document's own output (any other lone surrogate, U+FFFD).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else
                       "\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def utf8_all(value: Any) -> Any:
    """A copy of a JSON-like value with every string (keys too) made writable as UTF-8 by :func:`utf8`."""
    if isinstance(value, str):
        return utf8(value)
    if isinstance(value, dict):
        return {utf8(str(k)): utf8_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [utf8_all(v) for v in value]
    return value


def clip(text: str, cap: int = TEXT_CAP) -> str:
    """``text`` when it is short; else its first and last ``cap // 2`` characters around a marker saying how many
    were cut; and writable as UTF-8 (:func:`utf8`)."""
    if len(text) > cap:
        half = cap // 2
        text = f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
    return utf8(text)


def clip_all(value: Any, cap: int = TEXT_CAP) -> Any:
    """A copy of a results record with every string in it (keys too) clipped: one place, whatever its fields."""
    if isinstance(value, str):
        return clip(value, cap)
    if isinstance(value, dict):
        return {clip(str(k), cap): clip_all(v, cap) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clip_all(v, cap) for v in value]
    return value
