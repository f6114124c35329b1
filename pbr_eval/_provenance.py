"""Versions and fingerprints recorded in every result."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

from pbr_eval._version import __version__

__all__ = ["versions", "__version__"]

_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "linearmodels")


def versions() -> dict[str, str]:
    """Versions of pbr_eval, Python and the numerical dependencies."""
    return dict(_versions())


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    out = {"pbr_eval": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional
            out[name] = "not installed"
    return tuple(out.items())
