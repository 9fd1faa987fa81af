"""Gate fakegrad (a library with only grad and jvp) with the battery: the README's adapter, verbatim."""
import array_api_compat.numpy
import fakegrad  # the library under test
import numpy as np

from backends.base import Backend, Conventions, ErrorConvention

NOT_OFFERED = ("grad_and_value", "vjp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond", "jit")


class FakegradBackend(Backend):
    name = "fakegrad"        # the report's column
    library = "fakegrad"     # the distribution: Backend.version reads its release (override where it differs)
    xp = array_api_compat.numpy   # the array API namespace the battery's functions are written in
    conventions = Conventions(   # every field has a default: "none"; declare what the library has
        jvp_primals="tuple",                   # tuple | list | positional (how jvp takes primals)
        dtypes=("float32", "float64"),         # drop one to skip its checks, and say why in dtype_note=
        errors={                               # misuses the library documents an exception for
            "grad_int_input": ErrorConvention("TypeError", "floating", doc="fakegrad.grad docstring"),
            "jvp_primals_not_tuple": ErrorConvention("TypeError", "tuples", doc="fakegrad.jvp docstring"),
        },
        accepts={"jvp_tangent_dict_order": "fakegrad matches dict tangents to primals by key"},
        unsupported={t: f"fakegrad has no {t}" for t in NOT_OFFERED},   # skips, with this reason
    )

    @property
    def version(self) -> str:  # fakegrad is a module, not an installed distribution
        return fakegrad.__version__

    def asarray(self, value, dtype):  # a native array (here NumPy's), never a wrapper of ours
        return np.asarray(value, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def grad(self, f, argnums=0, **options):  # has_aux reaches fakegrad, which refuses it
        return fakegrad.grad(f, argnums, **options)

    def jvp(self, f, primals, tangents, **options):
        return fakegrad.jvp(f, primals, tangents, **options)
