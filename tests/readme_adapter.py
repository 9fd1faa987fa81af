"""Gate fakegrad (a library with only grad and jvp) with the battery: the README's adapter, verbatim."""
import array_api_compat.numpy
import fakegrad  # the library under test
import numpy as np

from backends.base import Backend, Conventions, ErrorConvention

NOT_OFFERED = ("grad_and_value", "vjp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond", "jit")


class FakegradBackend(Backend):
    name = "fakegrad"        # the report's column
    library = "fakegrad"     # the distribution, for the environment page
    conventions = Conventions(
        grad_and_value_api="",                 # public name of value-and-grad; "" when there is none
        grad_and_value_layout="",              # e.g. "(grad, value)"; "" when there is none
        grad_and_value_aux_layout="",          # e.g. "(grad, (value, aux))"; "" without has_aux
        grad_aux_layout="",                    # grad(f, has_aux=True)'s layout; "" without has_aux
        batch_keyword=("", ""),                # vmap's axis keywords, e.g. ("in_axes", "out_axes")
        vmap_api="",                           # public name of vmap, e.g. "mylib.vmap"; "" when there is none
        has_aux=frozenset(),                   # transforms that take has_aux=True
        jvp_primals="tuple",                   # tuple | list | positional
        scan_api="",                           # "" when there is no scan
        cond_api="",                           # "" when there is no cond
        jit_api="",                            # the compiler Backend.jit wraps, e.g. "mylib.compile"; "" if none
        dtypes=("float32", "float64"),         # drop one to skip its checks, and say why in dtype_note=
        errors={                               # misuses the library documents an exception for
            "grad_int_input": ErrorConvention("TypeError", "floating", doc="fakegrad.grad docstring"),
            "jvp_primals_not_tuple": ErrorConvention("TypeError", "tuples", doc="fakegrad.jvp docstring"),
        },
        accepts={"jvp_tangent_dict_order": "fakegrad matches dict tangents to primals by key"},
        unsupported={t: f"fakegrad has no {t}" for t in NOT_OFFERED},   # skips, with this reason
    )

    @property
    def version(self) -> str:
        return fakegrad.__version__

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def xp(self):  # the array API namespace the battery's functions are written in
        return array_api_compat.numpy

    def asarray(self, value, dtype):
        return np.asarray(value, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def grad(self, f, argnums=0, **options):  # has_aux reaches fakegrad, which refuses it
        return fakegrad.grad(f, argnums, **options)

    def jvp(self, f, primals, tangents, **options):
        return fakegrad.jvp(f, primals, tangents, **options)
