"""The one read-only mechanism every results object shares."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["ReadOnly"]


class ReadOnly:
    """Base for results objects: attributes are fixed once ``__init__`` ends.

    A subclass sets ``_redo`` (what to do instead, e.g. ``"estimate again"``)
    and calls :meth:`_freeze` at the end of its ``__init__``.

    Examples
    --------
    >>> class R(ReadOnly):
    ...     _redo = "estimate again"
    ...     def __init__(self):
    ...         self.x = 1
    ...         self._freeze()
    >>> R().x = 2
    Traceback (most recent call last):
    ...
    AttributeError: R is read-only; estimate again to change 'x'.
    """

    _frozen = False
    _redo: ClassVar[str] = "compute it again"

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise AttributeError(
                f"{type(self).__name__} is read-only; {self._redo} to change '{name}'."
            )
        object.__setattr__(self, name, value)
