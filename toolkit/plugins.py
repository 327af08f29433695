"""The one place that imports the plugins: every module of `exporters/` and `toolkit/runtimes/`.

Their decorators fill toolkit.registry's tables. A new target or runtime is a new module in
one of these folders; nothing else lists them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

PLUGIN_PACKAGES = ("exporters", "toolkit.runtimes")


@functools.cache
def load_plugins() -> None:
    for package_name in PLUGIN_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package_name}.{module.name}")
