"""A small name -> object registry (after chemprop's ``ClassRegistry``).

A new reader, tokenizer, fusion method or dataset is a new entry, not a new ``if`` branch::

    READERS = Registry("reader")

    @READERS.register("ris")
    class RISReader: ...
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from serendip.errors import ConfigError

T = TypeVar("T")

#: Callables returning ``{module: why it failed to import}`` (the domain loader adds one), read when
#: a name is unknown: a missing entry may be missing because its package failed to import.
_FAILURE_SOURCES: list[Callable[[], Mapping[str, str]]] = []


def add_failure_source(source: Callable[[], Mapping[str, str]]) -> None:
    """Let unknown-name errors of every :class:`Registry` name the packages that failed to import.

    Parameters
    ----------
    source : callable
        Returns ``{module name: "ExceptionType: message"}`` when called (e.g. the domain loader's
        :data:`serendip.models.plugins.DOMAIN_ERRORS`); added once.
    """
    if source not in _FAILURE_SOURCES:
        _FAILURE_SOURCES.append(source)


def import_failures() -> dict[str, str]:
    """``{module: why}`` of every package that failed to import, from the registered sources."""
    out: dict[str, str] = {}
    for source in _FAILURE_SOURCES:
        out.update(source())
    return out


class Registry(Generic[T]):
    """Map lower-case names to objects; unknown names raise :class:`ConfigError` listing the choices."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            for n in (name, *aliases):
                key = n.lower()
                if key in self._items:
                    raise ValueError(f"{self.kind} {key!r} is already registered")
                self._items[key] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        self.register(name)(obj)

    def get(self, name: str) -> T:
        """The entry ``name`` (any case).

        Raises
        ------
        ConfigError
            Unknown name: the message lists the registered names and, when a package that may have
            registered it failed to import, which one and why.
        """
        try:
            return self._items[name.lower()]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            failed = "; ".join(f"{mod} failed to import: {why}" for mod, why in sorted(import_failures().items()))
            raise ConfigError(f"unknown {self.kind} {name!r}; expected one of: {known}"
                              + (f" ({failed})" if failed else "")) from None

    def canonical(self, name: str) -> str:
        """The name the entry ``name`` (any case, or an alias) was first registered with. Raises
        ConfigError as :meth:`get` does."""
        obj = self.get(name)
        return next(n for n, o in self._items.items() if o is obj)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def keys(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def canonical_items(self) -> list[tuple[str, T]]:
        """One ``(name, entry)`` per entry, under the name it was first registered with (aliases
        left out), in registration order."""
        seen: dict[int, tuple[str, T]] = {}
        for name, obj in self._items.items():
            seen.setdefault(id(obj), (name, obj))
        return list(seen.values())
