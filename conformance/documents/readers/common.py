"""What every file reader needs: the text, its hash and the reproducer command."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conformance.documents.registry import DocumentError

PYTHON_LANGS = {"python", "py", "python3", "ipython", "ipython3", "pycon", "pyodide"}
OUTPUT_LANGS = {"", "text", "output", "none", "console", "out", "txt"}


def read_text(path: str) -> tuple[str, str]:
    """The file's text and SHA-256; a clear error for unreadable or non-UTF-8 files."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8"), hashlib.sha256(data).hexdigest()
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}) (save it as UTF-8)") from None


def reproducer(target: str) -> str:
    return f"python -m conformance check-doc {target}"
