"""Renamed public names: the old name keeps working for one release, with a warning.

A module lists its former names in a dict ``{old: (new, obj)}`` and gets a module
``__getattr__`` from :func:`renamed_names`; ``module.old`` (and ``from module
import old``) then returns ``obj`` with a ``DeprecationWarning`` that names the
new address.  The old names are not in the module's namespace, ``__all__`` or
documentation, so nothing inside the package can keep using them by accident.
``CHANGELOG.md`` lists every such name.

Examples
--------
>>> import warnings
>>> getattr_ = renamed_names("pkg.mod", {"old_len": ("pkg.mod.length", len)})
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     f = getattr_("old_len")
>>> f is len, caught[0].category.__name__
(True, 'DeprecationWarning')
>>> str(caught[0].message)
'pkg.mod.old_len is deprecated and will be removed in the next release; use pkg.mod.length'
>>> getattr_("nope")
Traceback (most recent call last):
...
AttributeError: module 'pkg.mod' has no attribute 'nope'
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Mapping

__all__ = ["renamed_names"]


def renamed_names(module: str, renames: Mapping[str, tuple[str, Any]],
                  fallback: Callable[[str], Any] | None = None) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``renames`` (``old -> (new address, object)``).

    Parameters
    ----------
    module : str
        The module's ``__name__`` (for the messages).
    renames : mapping
        ``{old name: (new dotted address, the object now at it)}``.
    fallback : callable, optional
        Called with any other name (a module's own lazy ``__getattr__``); without it
        an unknown name raises ``AttributeError``.
    """
    renames = dict(renames)

    def __getattr__(name: str) -> Any:
        if name in renames:
            new, obj = renames[name]
            warnings.warn(f"{module}.{name} is deprecated and will be removed in the next "
                          f"release; use {new}", DeprecationWarning, stacklevel=2)
            return obj
        if fallback is not None:
            return fallback(name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
