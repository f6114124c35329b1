"""The registered report sections (importing this package registers them all).

A new section is one function decorated with :func:`pbr_eval.reporting.model.section`
in one of these modules, or in a new public module here: every public module of this
package is imported below, so nothing else needs listing it (see docs/ARCHITECTURE.md).
"""

import importlib
import pkgutil

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

for _name in __all__:
    importlib.import_module(f"{__name__}.{_name}")
