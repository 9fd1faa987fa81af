"""What every file reader needs: the text, its hash and the reproducer command."""

from __future__ import annotations

import hashlib
import shlex

from conformance.claims.documents.limits import MAX_DOCUMENT_BYTES
from conformance.claims.documents.model import DocumentError

PYTHON_LANGS = {"python", "py", "python3", "ipython", "ipython3", "pycon", "pyodide"}
OUTPUT_LANGS = {"", "text", "output", "none", "console", "out", "txt"}
SESSION_LANGS = {"", "text", "none", "txt", "console", "shell", "sh", "bash", "default", "output"}
"""Languages a page gives a block that is in fact a Python session: a block of one of these whose first line is
a ``>>>`` prompt is read as a doctest (a shell session starts with ``$``, never with Python's prompt)."""


def read_text(path: str) -> tuple[str, str]:
    """The file's text and SHA-256; a clear error for unreadable, oversized or non-UTF-8 files.

    At most :data:`MAX_DOCUMENT_BYTES` + 1 bytes are read, whatever the file claims to hold (``registry.read``
    refuses larger files before a reader starts; this covers one that grew since, or a reader called directly).
    """
    with open(path, "rb") as fh:
        data = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{path}: larger than {MAX_DOCUMENT_BYTES // 2**20} MiB, the limit of a document")
    try:
        return data.decode("utf-8"), hashlib.sha256(data).hexdigest()
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}) (save it as UTF-8)") from None


def reproducer(target: str) -> str:
    """The command that checks ``target`` again, quoted for a POSIX shell (a file name may hold ``$(...)``)."""
    return shlex.join(["python", "-m", "conformance", "check-doc", target])
