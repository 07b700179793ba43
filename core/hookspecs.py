"""Kept so plugins written against the first API keep loading: the hooks and their
marker live in :mod:`core.plugin_api.hookspecs`; import ``core.plugin_api``."""

from __future__ import annotations

from core.plugin_api.hookspecs import *  # noqa: F403
from core.plugin_api.hookspecs import __all__ as __all__
