"""Experiment kinds that ``configs/*.yaml`` instantiate.

Every module in this package registers its kind with
:func:`kbayes.experiment.registry.register_kind` when imported; all are imported here.
"""

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
