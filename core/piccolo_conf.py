"""Piccolo configuration module (``PICCOLO_CONF=core.piccolo_conf``).

``DB`` is replaced at start-up by :func:`core.db.engine.bind_engine`; the value here only
serves Piccolo's own CLI when a developer generates a migration
(``PICCOLO_CONF=core.piccolo_conf piccolo migrations new <app> --auto``).

Apps: the core, the rota and notification tables (apps ``daemon`` and ``notify``, named
when they lived in ``daemon/``), and every installed plugin that ships a ``piccolo_app``
module next to its entry point — a plugin's tables and migrations travel with it.
"""

import importlib.util
import os
from importlib.metadata import entry_points
from typing import Any

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

DB: Engine[Any] = SQLiteEngine(path=os.environ.get("XINFANG_PICCOLO_DEV_DB", "var/piccolo-dev.sqlite"))


def _plugin_apps() -> list[str]:
    apps = []
    for ep in sorted(entry_points(group="xinfang.plugins"), key=lambda e: e.name):
        module = f"{ep.value.split(':')[0]}.piccolo_app"
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            apps.append(module)
    return apps


APP_REGISTRY = AppRegistry(
    apps=[
        "core.db.piccolo_app",
        "core.db.rota.piccolo_app",
        "core.db.notify.piccolo_app",
        *_plugin_apps(),
    ]
)
