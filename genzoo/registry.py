"""Registries: short names -> constructors, in the style of timm's ``register_model``.

There are three: ``BACKBONES`` (network families shared by every model), ``MODELS`` (the
LightningModules) and ``DATAMODULES``. The CLI resolves ``--model vae`` and ``--data mnist`` through
them, tests parametrize over them, so a new entry is tested without new test code.
Unlike timm, a duplicate name raises: two things answering to one name is always a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from genzoo.errors import GenzooError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named mapping from short names to classes or factory functions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@MODELS.register("vae")`` (or no name: the lower-cased class name)."""

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "__name__", "").lower()
            if not key:
                raise ValueError(f"cannot register {obj!r} in {self.kind} registry without a name")
            if key in self._entries:
                raise ValueError(f"duplicate {self.kind} name {key!r}: already registered as {self._entries[key]!r}")
            self._entries[key] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name raises an error listing the known ones."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise GenzooError(f"unknown {self.kind} {name!r}; known {self.kind}s: {known}") from None

    def name_of(self, obj: Any) -> str | None:
        """The registered name of a class (or of an instance's class), or None."""
        cls = obj if isinstance(obj, type) else type(obj)
        for key, value in self._entries.items():
            if value is cls:
                return key
        return None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


BACKBONES: Registry[Any] = Registry("backbone")
MODELS: Registry[Any] = Registry("model")
DATAMODULES: Registry[Any] = Registry("dataset")


def load_all() -> None:
    """Import every module that registers something, so the registries are complete."""
    import genzoo.datamodules  # noqa: F401
    import genzoo.models  # noqa: F401
    import genzoo.nn.backbones  # noqa: F401
