"""Open registries: names that users extend from outside the package.

A :class:`Registry` maps names to entries in the order they were added; the
built-in entries come first, then whatever a user (or a plugin module)
registers.  Name lists such as :data:`sparsesim.nn.SALIENCY_METHODS` are
derived from a registry, never kept beside it.

Rules, the same for every registry: a name is a non-empty str without
surrounding spaces (``TypeError`` / ``ValueError``); a name already taken
raises ``ValueError`` naming it — unless the entry is equal to the one
registered (a module imported twice registers nothing new); built-in entries
cannot be removed.

Examples
--------
>>> reg = Registry("colour")
>>> reg.add("red", 1, builtin=True)
>>> reg.add("blue", 2)
>>> reg.names(), reg["blue"]
(('red', 'blue'), 2)
>>> reg.add("blue", 3)
Traceback (most recent call last):
...
ValueError: colour 'blue' is already registered; choose another name (or unregister it first)
>>> reg.remove("red")
Traceback (most recent call last):
...
ValueError: colour 'red' is built in and cannot be unregistered
>>> reg.remove("blue"); reg.names()
('red',)
"""

from __future__ import annotations

import inspect
from typing import Any, Iterator

from ._validation import short_repr

__all__ = ["Registry", "check_callable", "check_name"]


def check_callable(what: str, fn: Any, n_args: int, expected: str) -> Any:
    """``TypeError`` unless ``fn`` is a callable taking ``n_args`` positional arguments.

    >>> check_callable("fn", lambda a: a, 2, "(params, inputs)")
    Traceback (most recent call last):
    ...
    TypeError: fn must accept (params, inputs); <lambda>(a) does not
    """
    if not callable(fn):
        raise TypeError(f"{what} must be callable {expected}; got {type(fn).__name__}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: accepted as they are
        return fn
    try:
        sig.bind(*([None] * n_args))
    except TypeError:
        raise TypeError(f"{what} must accept {expected}; "
                        f"{getattr(fn, '__name__', fn)!s}{sig} does not") from None
    return fn


def check_name(what: str, name: Any) -> str:
    """Check a registry name: a non-empty str without surrounding whitespace.

    >>> check_name("saliency criterion", " x")
    Traceback (most recent call last):
    ...
    ValueError: saliency criterion name must be a non-empty str without surrounding spaces; got ' x'
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a str; got {short_repr(name)} "
                        f"of type {type(name).__name__}")
    if not name or name != name.strip():
        raise ValueError(f"{what} name must be a non-empty str without surrounding spaces; "
                         f"got {name!r}")
    return name


class Registry:
    """Named entries in registration order (see the module notes).

    Parameters
    ----------
    what : str
        What an entry is, for messages (``"saliency criterion"``).
    """

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Any] = {}
        self._builtin: set[str] = set()

    def add(self, name: str, entry: Any, *, builtin: bool = False) -> None:
        """Register ``entry`` as ``name`` (``ValueError`` when the name is taken)."""
        check_name(self.what, name)
        if name in self._entries:
            if self._entries[name] == entry:
                return
            raise ValueError(f"{self.what} {name!r} is already registered; choose another name "
                             "(or unregister it first)")
        self._entries[name] = entry
        if builtin:
            self._builtin.add(name)

    def remove(self, name: str) -> None:
        """Unregister ``name`` (a user entry; built-in ones stay)."""
        self.get(name)
        if name in self._builtin:
            raise ValueError(f"{self.what} {name!r} is built in and cannot be unregistered")
        del self._entries[name]

    def get(self, name: str) -> Any:
        """The entry of ``name``; ``ValueError`` listing the registered names otherwise."""
        if not isinstance(name, str):
            raise TypeError(f"{self.what} must be one of {self.names()}; got "
                            f"{short_repr(name)} of type {type(name).__name__}")
        if name not in self._entries:
            raise ValueError(f"{self.what} must be one of {self.names()}; got {name!r} "
                             "(register new ones first)")
        return self._entries[name]

    __getitem__ = get

    def names(self) -> tuple[str, ...]:
        """The registered names, built-in ones first, in registration order."""
        return tuple(self._entries)

    def is_builtin(self, name: str) -> bool:
        """Whether ``name`` is one of the entries the package itself registered."""
        return name in self._builtin

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self):
        """``(name, entry)`` pairs in registration order."""
        return self._entries.items()

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self._entries)})"
