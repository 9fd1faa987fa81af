"""Backends that crash or hang, for the runner's isolation tests."""

from __future__ import annotations

import os
import signal
import time

from backends.numpy_reference import NumpyReference


class _NotReference(NumpyReference):
    library = "numpy-test"
    is_reference = False


class SegfaultsInJvp(_NotReference):
    """The process dies by SIGSEGV the first time jvp is called."""

    name = "crash-segfault"

    def jvp(self, f, primals, tangents, has_aux=False):
        os.kill(os.getpid(), signal.SIGSEGV)


class HangsInGrad(_NotReference):
    """grad never returns (a sleep the per-check time limit must interrupt)."""

    name = "crash-hang"

    def grad(self, f, argnums=0, has_aux=False):
        time.sleep(3600)
