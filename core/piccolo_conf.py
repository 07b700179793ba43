"""Piccolo configuration module (``PICCOLO_CONF=core.piccolo_conf``).

``DB`` is replaced at start-up by :func:`core.db.engine.bind_engine`; the value here only
serves Piccolo's own CLI when a developer generates a migration.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

DB: Engine = SQLiteEngine(path=os.environ.get("XINFANG_PICCOLO_DEV_DB", "var/piccolo-dev.sqlite"))

APP_REGISTRY = AppRegistry(apps=["core.db.piccolo_app"])
