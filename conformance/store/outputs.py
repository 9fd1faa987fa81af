"""Output paths: checked before any work, written atomically, and a failed write that says what was kept.

A results file given as ``--out`` used to be opened only after the battery's minutes or the article's
snippets had run: a directory, a path under ``/proc`` or a parent that does not exist then ended in a
traceback and the work was lost.  :func:`check_output_file` (and :func:`check_output_dir` for a directory
such as the report's site) decides before any work whether the path can be written, by asking the place
itself: it creates and removes a temporary file next to the path, the way :func:`write_atomic` will, so
every reason a write can fail there (no such directory, no right, a read-only or pseudo filesystem, a
name too long) is found in a millisecond.  :func:`write_atomic` turns a write that fails anyway (the disk
filled up meanwhile) into one line naming what was kept and how to finish, never a traceback.

Every problem is a :class:`UsageError` (the command line prints it as one line and exits 2).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Kernel filesystems: a file written there is not kept (and renaming over ``/dev/null`` as root would break the host)."""
PSEUDO_TYPES = frozenset({"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
                          "securityfs", "pstore", "bpf", "configfs", "fusectl", "mqueue", "binfmt_misc",
                          "efivarfs", "autofs", "nsfs", "hugetlbfs", "rpc_pipefs"})
"""Filesystem types (``/proc/self/mounts``) that hold no files of ours, wherever they are mounted."""
MOUNTS = Path("/proc/self/mounts")


class UsageError(Exception):
    """A problem the user fixes by changing the command line or the environment: one line, exit 2."""


class OutputError(UsageError):
    """A write that failed after the work was done: the message says what was kept and how to finish."""


def _mount_type(path: Path) -> str | None:
    """The filesystem type of the mount holding ``path`` (resolved), or None where the mount table cannot be read."""
    try:
        lines = MOUNTS.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    best, kind = "", None
    target = str(path)
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def _pseudo(path: Path) -> str | None:
    """Why ``path`` (resolved) lies on a kernel filesystem, or None."""
    for root in PSEUDO_ROOTS:
        if path == root or root in path.parents:
            return f"{root} is a kernel filesystem, not storage"
    kind = _mount_type(path)
    if kind in PSEUDO_TYPES:
        return f"it lies on a {kind} filesystem, not storage"
    return None


def _probe(directory: Path, name: str) -> OSError | None:
    """Create, write, and remove a temporary file in ``directory`` named like :func:`write_atomic`'s; the error, if any."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".tmp", dir=directory)
    except OSError as exc:
        return exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("probe\n")
            fh.flush()
    except OSError as exc:
        return exc
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return None


def describe(exc: OSError) -> str:
    """An OSError in words for a one-line message: ``No space left on device (ENOSPC)``."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")


def check_output_file(path: Path | str, *, option: str = "--out", create_parents: bool = False) -> None:
    """Refuse, before any work, an output file that cannot be written: raise :class:`UsageError`.

    ``create_parents``: a missing parent directory is created (for default places such as
    ``reports/results``); a user's own ``--out`` must name a directory that exists, since a typo in it
    would otherwise scatter results into a new tree.
    """
    path = Path(path)
    shown = f"{option} {path}" if option else str(path)
    if path.is_dir():
        raise UsageError(f"{shown}: is a directory (give a file name, e.g. {option} {path / 'results.json'})")
    if str(path) == "" or path.name in ("", ".", ".."):
        raise UsageError(f"{shown}: not a file name (give a file, e.g. {option} results.json)")
    resolved = path.expanduser().absolute()
    try:
        resolved = resolved.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the probe below names it
        pass
    if (why := _pseudo(resolved)) is not None:
        raise UsageError(f"{shown}: {why} (write the file somewhere on disk, e.g. {option} results.json)")
    if path.exists() and not path.is_file():
        raise UsageError(f"{shown}: exists and is not a regular file (give a new file name)")
    parent = resolved.parent
    if not parent.exists():
        if not create_parents:
            raise UsageError(f"{shown}: cannot create files in {path.parent}: no such directory (create it, or "
                             "choose another place)")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{shown}: cannot create directory {path.parent}: {describe(exc)} "
                             "(choose a writable place)") from None
    elif not parent.is_dir():
        raise UsageError(f"{shown}: cannot create files in {path.parent}: not a directory (choose another place)")
    if (exc := _probe(parent, path.name)) is not None:
        raise UsageError(f"{shown}: cannot create files in {path.parent}: {describe(exc)} (choose a writable place)")


def check_output_dir(path: Path | str, *, option: str = "--out") -> None:
    """Refuse, before any work, a directory that files cannot be written into: raise :class:`UsageError`.

    A directory that does not exist yet is fine where its nearest existing ancestor can hold it.
    """
    path = Path(path)
    shown = f"{option} {path}" if option else str(path)
    resolved = path.expanduser().absolute()
    try:
        resolved = resolved.resolve()
    except (OSError, RuntimeError):
        pass
    if (why := _pseudo(resolved)) is not None:
        raise UsageError(f"{shown}: {why} (choose a directory on disk)")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{shown}: exists and is not a directory (give a directory, or remove the file)")
    probe = resolved
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{shown}: {probe} is a file, so no directory can be made under it (choose another place)")
    if (exc := _probe(probe, ".conformance-probe")) is not None:
        raise UsageError(f"{shown}: cannot write in {probe}: {describe(exc)} (choose a writable place)")


def write_atomic(path: Path | str, text: str, *, kept: str = "", resume: str = "") -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename, so a reader never sees half a file.

    An OSError (disk full, quota, a filesystem turned read-only...) removes the temporary file and
    raises :class:`OutputError`: ``kept`` says what survives (e.g. the run's logs) and ``resume`` how to
    finish once the cause is fixed.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        hint = "; ".join(part for part in (kept, resume) if part)
        raise OutputError(f"{path}: could not write: {describe(exc)}" + (f"; {hint}" if hint else "")) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path
