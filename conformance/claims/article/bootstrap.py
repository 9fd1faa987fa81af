"""The sandbox's bootstrap: the first code of every sandboxed run, before any library or untrusted code.

Not imported by the checker: ``sandbox.run_snippet`` copies this file into the run's directory and the sandboxed
interpreter runs it as its script (``python -s -B bootstrap.py snippet.py ANSWER_FD REPORT_FD``).  In order, it
moves the report channel (and the answer channel, when the host answers asks) to unpredictable descriptor numbers,
close-on-exec, keeping them only in closures; sets the rlimits the host passed; imports the trusted libraries;
installs the audit hook (a second layer, see ``sandbox``); runs the snippet; and reports its outcome as one
``result`` record.  Standard library only.
"""

import json
import os
import resource
import sys
import traceback


def _open_channel():
    # The report channel, before the libraries and the snippet run: the inherited pipe (its number is the last argument) moves to
    # an unpredictable number, close-on-exec, and the original is closed.  Only the returned closure holds it.
    import fcntl
    import secrets
    import threading
    inherited = int(sys.argv.pop())
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    top = 4096 if soft == resource.RLIM_INFINITY else min(soft, 4096)
    try:
        fd = fcntl.fcntl(inherited, fcntl.F_DUPFD_CLOEXEC, 64 + secrets.randbelow(max(1, top - 128)))
    except OSError:
        fd = fcntl.fcntl(inherited, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(inherited)
    listen = int(sys.argv.pop())  # the answer channel's read end, or -1: the host answers asks there
    if listen >= 0:
        try:
            answers = fcntl.fcntl(listen, fcntl.F_DUPFD_CLOEXEC, 64 + secrets.randbelow(max(1, top - 128)))
        except OSError:
            answers = fcntl.fcntl(listen, fcntl.F_DUPFD_CLOEXEC, 3)
        os.close(listen)
    pid, lock, dumps, write, getpid, read, loads = (os.getpid(), threading.Lock(), json.dumps, os.write, os.getpid,
                                                     os.read, json.loads)
    def report(record):
        if getpid() != pid:  # a forked child of the program: not the run's record
            return
        data = memoryview((dumps(record, default=repr) + "\n").encode("ascii"))
        with lock:
            while data:
                data = data[write(fd, data):]
    ask_lock = threading.Lock()
    def ask(record):
        # One question to the host and its one-line answer; the lock keeps question and answer together.
        if listen < 0:
            raise RuntimeError("this run has no answer channel")
        with ask_lock:
            report({"type": "ask", **record})
            buf = bytearray()
            while not buf.endswith(b"\n"):
                chunk = read(answers, 1 << 16)
                if not chunk:
                    raise EOFError("the host closed the answer channel")
                buf += chunk
        return loads(bytes(buf))
    return report, ask
_limits = json.loads(os.environ.pop("SANDBOX_LIMITS"))
for _name, _value in _limits.items():
    _res = getattr(resource, _name)
    _soft, _hard = resource.getrlimit(_res)
    _value = _value if _hard == resource.RLIM_INFINITY else min(_value, _hard)
    resource.setrlimit(_res, (_value, _value if _name != "RLIMIT_CPU" else _value + 1))
_root = os.path.realpath(os.getcwd())
_preimport = json.loads(os.environ.pop("SANDBOX_PREIMPORT"))
_audit = os.environ.pop("SANDBOX_AUDIT") == "1"
_share = os.environ.pop("SANDBOX_SHARE") == "1"
_BLOCK = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
          "os.kill", "os.killpg", "pty.spawn"}
_PATHS = {"os.remove": 0, "os.unlink": 0, "os.rmdir": 0, "os.rename": (0, 1), "os.replace": (0, 1),
          "os.mkdir": 0, "os.chmod": 0, "os.chown": 0, "os.truncate": 0, "os.symlink": (0, 1), "os.link": (0, 1),
          "shutil.rmtree": 0, "os.utime": 0, "os.chdir": 0}
def _inside(path):
    if isinstance(path, int):
        return True
    try:
        real = os.path.realpath(os.fsdecode(path))
    except Exception:
        return False
    return real == _root or real.startswith(_root + os.sep)
def _hook(event, args):
    if event in _BLOCK:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "import" and args and args[0] in ("ctypes", "_ctypes") and "ctypes" not in sys.modules:
        raise PermissionError("sandbox: importing ctypes is not allowed")
    if event == "open" and len(args) >= 2:
        path, mode = args[0], args[1]
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
        if writing and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the sandbox directory is not allowed")
    elif event in _PATHS:
        idx = _PATHS[event]
        for i in (idx if isinstance(idx, tuple) else (idx,)):
            if i < len(args) and not _inside(args[i]):
                raise PermissionError(f"sandbox: {event} on {args[i]!r} outside the sandbox directory is not allowed")
def _text(value):
    try:
        return str(value)
    except BaseException:
        return "<unprintable>"
def _main(channel):
    report, ask = channel
    for mod in _preimport:
        __import__(mod)  # trusted library imports happen before the hook
    code = compile(open(sys.argv[1], encoding="utf-8").read(), "<snippet>", "exec")
    scope = {"__name__": "__main__"}
    if _share:  # a trusted program (the document harness) that sends records of its own
        scope["__report__"] = report
        scope["__ask__"] = ask
    if _audit:
        sys.addaudithook(_hook)
    result = {"type": "result", "exception": None}
    try:
        exec(code, scope)
    except BaseException as exc:
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            pass
        else:
            try:
                traceback.print_exc()
            except BaseException:
                pass
            kind = type(exc)
            result["exception"] = {"type": kind.__qualname__ if kind.__module__ == "builtins"
                                   else f"{kind.__module__}.{kind.__qualname__}", "message": _text(exc)[:4000]}
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    report(result)
    os._exit(0 if result["exception"] is None else 1)
if __name__ == "__main__":  # run as the sandbox's script, never on import
    _main(_open_channel())
