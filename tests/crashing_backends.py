"""Backends that crash or hang, for the runner's isolation tests.

Importing this module registers one extra spec, ``dashed_grad``, over copies of
three catalog functions renamed with a ``-`` (``sin-sum``...): it exists so a
test can prove that a crashed check lands in the right cells even when its
backend and function names contain the character test ids are joined with.
Import it only in a battery subprocess (``--backend tests.crashing_backends:...``),
never into a test process, or that process's registry grows a spec.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

from backends.numpy_reference import NumpyReference
from conformance.battery.catalog import CATALOG
from conformance.battery.specs.core import Ctx, spec


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


HANGS_ON = "sin_sum"
"""The one catalog function the hanging backends below hang on; every other one works."""


class BlocksAlarmInGrad(_NotReference):
    """grad of sin_sum blocks SIGALRM, then sleeps in C: the in-process alarm can never fire."""

    name = "crash-sigmask"

    def grad(self, f, argnums=0, has_aux=False):
        if f.__name__ == HANGS_ON:
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
            time.sleep(3600)
        return super().grad(f, argnums=argnums, has_aux=has_aux)


class SwallowsInterruptsInGrad(_NotReference):
    """grad of sin_sum sleeps in a loop that catches BaseException: the alarm's exception is swallowed."""

    name = "crash-swallow"

    def grad(self, f, argnums=0, has_aux=False):
        if f.__name__ == HANGS_ON:
            while True:
                try:
                    time.sleep(3600)
                except BaseException:  # the point: a backend that eats the timeout
                    pass
        return super().grad(f, argnums=argnums, has_aux=has_aux)


# -- names with '-' --------------------------------------------------------------------------------

_BY_NAME = {e.name: e for e in CATALOG}
DASHED_ENTRIES = tuple(dataclasses.replace(_BY_NAME[n], name=n.replace("_", "-")) for n in ("sin_sum", "exp_mean", "log_sum"))
CRASHES_ON = "exp-mean"


@spec("dashed_grad", "grad", entries=DASHED_ENTRIES)
def dashed_grad(ctx: Ctx) -> None:
    """grad over catalog functions whose names contain '-' (a runner test's spec, not part of the battery)."""
    ctx.against_reference("grad", "first", 1, "grad(f)(x)")


class DashedCrash(_NotReference):
    """A backend named with '-' whose process dies by SIGSEGV in grad of exp-mean (the middle check of a shard)."""

    name = "crash-dash-backend"

    def grad(self, f, argnums=0, has_aux=False):
        if f.__name__ == CRASHES_ON:
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().grad(f, argnums=argnums, has_aux=has_aux)
