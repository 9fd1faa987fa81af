"""``check-doc --device-map cuda=cpu`` inside the sandbox: a GPU tutorial's device names, mapped where it runs.

Why: a tutorial that hard-codes ``device = 'cuda'`` stops at its first CUDA call on a CPU machine, and nothing after
it is checked.  With a map, the document's own device requests go to the mapped device instead:

- torch: ``torch.device('cuda')`` builds the mapped device (``isinstance(d, torch.device)`` still holds); a torch
  function mode maps ``device=`` keywords (factory functions: ``torch.randn(3, device='cuda')``), the devices given
  to ``Tensor.to`` (and so ``Module.to``), and ``Tensor.cuda()`` (and so ``Module.cuda()``);
  ``torch.cuda.synchronize`` does nothing (the mapped device computes synchronously).  ``torch.cuda.is_available()``
  stays truthful: a document that asks gets the machine's answer;
- jax: ``jax.devices('gpu')`` (and ``local_devices``, ``device_count``, ``local_device_count``) with a mapped
  platform return the mapped platform's devices.

``cuda`` and ``gpu`` name the same thing here (torch says ``cuda``, jax ``gpu``); a key with an index
(``cuda:1=cpu``) maps that device only, one without maps every index.  The map is applied only when asked for, and
is recorded in the results' run header.
"""

from __future__ import annotations

from typing import Any

_ALIASES = {"gpu": "cuda"}


def _norm(spec: str) -> str:
    kind, sep, index = spec.partition(":")
    return _ALIASES.get(kind, kind) + sep + index


class Mapping:
    """The map as given (``{"cuda": "cpu"}``), answering "where does this device go?"."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = {_norm(k): v for k, v in mapping.items()}

    def target(self, spec: str) -> str | None:
        spec = _norm(spec)
        if spec in self.mapping:
            return self.mapping[spec]
        return self.mapping.get(spec.partition(":")[0])

    def maps(self, kind: str) -> bool:
        kind = _norm(kind)
        return any(k.partition(":")[0] == kind for k in self.mapping)


def _install_torch(m: Mapping) -> None:
    import torch
    from torch.overrides import TorchFunctionMode

    real = torch.device

    def mapped(value: Any) -> Any:
        """The mapped device for a device argument, or None when it is not one the map names."""
        if isinstance(value, real):
            spec = str(value)
        elif isinstance(value, str):
            spec = value
        elif isinstance(value, int) and not isinstance(value, bool):
            spec = f"cuda:{value}"  # torch reads a bare index as a CUDA device
        else:
            return None
        to = m.target(spec)
        return real(to) if to is not None else None

    class _Meta(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, real)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, real)

    class device(metaclass=_Meta):  # it stands in for torch.device, so it keeps its name
        """torch.device with the document's device map applied (check-doc --device-map)."""

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            made = real(*args, **kwargs)
            return mapped(made) or made

    tensor_cuda, tensor_to = torch.Tensor.cuda, torch.Tensor.to

    class DeviceMap(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            kwargs = dict(kwargs or {})
            if func is tensor_cuda:
                index = args[1] if len(args) > 1 else kwargs.pop("device", None)
                to = mapped("cuda" if index is None else index)
                if to is not None:
                    rest = {k: kwargs[k] for k in ("non_blocking", "memory_format") if k in kwargs}
                    return tensor_to(args[0], to, **rest)
            if "device" in kwargs and mapped(kwargs["device"]) is not None:
                kwargs["device"] = mapped(kwargs["device"])
            if func is tensor_to:
                args = (args[0], *(mapped(a) or a if isinstance(a, (str, real)) else a for a in args[1:]))
            return func(*args, **kwargs)

    torch.device = device
    if m.maps("cuda"):
        torch.cuda.synchronize = lambda device=None: None
    DeviceMap().__enter__()  # for the whole session, as torch.set_default_device does


def _install_jax(m: Mapping) -> None:
    import jax

    def platform(backend: Any) -> Any:
        to = m.target(backend) if isinstance(backend, str) else None
        return to.partition(":")[0] if to is not None else backend

    def wrap(real: Any, positional: bool) -> Any:
        def mapped(*args: Any, **kwargs: Any) -> Any:
            if "backend" in kwargs:
                kwargs["backend"] = platform(kwargs["backend"])
            elif positional and args:
                args = (platform(args[0]), *args[1:])
            return real(*args, **kwargs)

        mapped.__wrapped__ = real  # type: ignore[attr-defined]
        mapped.__doc__ = real.__doc__
        return mapped

    # local_devices(process_index=None, backend=None): its backend is a keyword; the others take it first.
    for name, positional in (("devices", True), ("device_count", True), ("local_device_count", True),
                             ("local_devices", False)):
        if hasattr(jax, name):
            setattr(jax, name, wrap(getattr(jax, name), positional))


INSTALLERS = {"torch": _install_torch, "jax": _install_jax}


def install(library: str, mapping: dict[str, str]) -> None:
    """Apply ``mapping`` to ``library`` for the rest of the session (nothing when the map is empty)."""
    if mapping and library in INSTALLERS:
        INSTALLERS[library](Mapping(mapping))
