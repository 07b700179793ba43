"""The ``xinfang`` command is assembled from core's command modules and the ones the
daemon and the launcher contribute (entry point group ``xinfang.cli``), so core imports
neither (docs/architecture.md, "Layers")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import core.cli

ROOT = Path(__file__).resolve().parents[2]


def test_importing_core_cli_imports_no_daemon_and_no_launcher() -> None:
    probe = (
        "import sys, core.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'daemon', 'xinfang_launch'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]"


def test_the_daemon_and_launcher_commands_are_on_the_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "--help"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()}
    assert {"worker", "tick", "run", "serve", "migrate", "audit"} <= listed


def _fresh_main(monkeypatch: pytest.MonkeyPatch, modules: tuple[str, ...]) -> click.Group:
    monkeypatch.setattr(core.cli, "EXTRA_COMMAND_MODULES", modules)

    @click.group(cls=core.cli._Main)
    def main() -> None:
        """Test."""

    return main


def test_an_absent_command_module_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    main = _fresh_main(monkeypatch, ("no_such_package.cli", "daemon.cli"))
    result = CliRunner().invoke(main, ["tick", "--help"])
    assert result.exit_code == 0, result.output


def test_a_command_module_that_fails_to_import_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "broken_commands.py").write_text(
        textwrap.dedent(
            """
            import no_such_dependency  # noqa: F401
            commands = ()
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    main = _fresh_main(monkeypatch, ("broken_commands",))
    result = CliRunner().invoke(main, ["--help"])
    assert isinstance(result.exception, ModuleNotFoundError)
    assert result.exception.name == "no_such_dependency"
