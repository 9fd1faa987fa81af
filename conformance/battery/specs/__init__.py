"""The battery: importing this package registers every spec (one family a module)."""

from conformance.battery.specs import (  # noqa: F401  (imported for their registrations)
    accuracy_modes,
    complex,
    cond,
    conventions,
    dtypes,
    errors,
    functions,
    grad,
    has_aux,
    hessian,
    indexing,
    jacobians,
    jit,
    kinks,
    layout,
    magnitudes,
    partial,
    scan,
    taylor,
    vjp_jvp,
    vmap,
    vmap_static,
)
from conformance.battery.specs.core import REGISTRY, Case, CheckFailed, Ctx, Figures, Skip, Spec, cases, run_check

__all__ = ["REGISTRY", "Case", "CheckFailed", "Ctx", "Figures", "Skip", "Spec", "cases", "run_check"]
