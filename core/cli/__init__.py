"""The ``xinfang`` command: one module per command group, registered on ``main``.

Commands that are not core's — the daemon's ``worker`` and ``tick``, the launcher's
``run`` — come from modules named in the ``xinfang.cli`` entry point group (see
pyproject.toml) or in ``EXTRA_COMMAND_MODULES``; each such module has a ``commands``
tuple. They are loaded by name when the command line starts, so core imports none of
them (the layers of docs/architecture.md)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from types import ModuleType

import click

from core.cli import (
    audit,
    backup,
    calendar,
    deadlines,
    install,
    keys,
    open311,
    plugins,
    rota,
    serve,
    tenants,
    users,
)

ENTRY_POINT_GROUP = "xinfang.cli"
# The same modules the entry points name, for an install made before they were declared
# (an editable install sees new entry points only when reinstalled). Absent ones are
# skipped: core runs without the daemon or the launcher installed.
EXTRA_COMMAND_MODULES = ("daemon.cli", "xinfang_launch.cli")


def _extra_modules() -> list[ModuleType]:
    found: dict[str, ModuleType] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        module = ep.load()
        found[module.__name__] = module
    for name in EXTRA_COMMAND_MODULES:
        if name in found:
            continue
        try:
            found[name] = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name + ".").startswith(exc.name + "."):
                raise  # the module is there but something it imports is not
    return list(found.values())


class _Main(click.Group):
    """Loads the extra command modules the first time a command is looked up."""

    _loaded = False

    def _load_extras(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in _extra_modules():
            for command in module.commands:
                self.add_command(command)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_extras()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_extras()
        return super().list_commands(ctx)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xinfang")
def main() -> None:
    """信访接待平台 Xinfang — petition reception for Chinese organizations.

    With no settings it runs on the embedded default (SQLite file and embedded Redis
    under XINFANG_DATA_DIR, default ./var). Set DATABASE_URL / REDIS_URL for servers.
    """


for _module in (
    install, backup, users, tenants, plugins, open311, keys, serve, deadlines, calendar,
    rota, audit,
):  # fmt: skip
    for _command in _module.commands:
        main.add_command(_command)
