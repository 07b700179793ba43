"""Loading rule packs: the built-in ones here plus any directory the admin adds."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.domain.rulepacks import RulePack, parse_pack
from core.errors import InvalidInput

BUILTIN_DIR = Path(__file__).parent / "packs"
DEFAULT_PACK = "cn-2022"


def _dirs(extra_dirs: Iterable[Path]) -> list[Path]:
    # Admin directories first so a local file can supersede a shipped pack.
    return [*map(Path, extra_dirs), BUILTIN_DIR]


def available_packs(extra_dirs: Iterable[Path] = ()) -> list[str]:
    """Current pack names (file names); former names live in each pack's ``aliases``."""
    names: set[str] = set()
    for d in _dirs(extra_dirs):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(
                "invalid_rule_pack", f"规则包 {path} 格式错误：{exc}", field="rule_pack"
            ) from None


def _find(name: str, dirs: list[Path]) -> tuple[Path, str] | None:
    """The file of pack ``name``: ``<name>.toml``, else the pack listing it in ``aliases``
    (renamed packs keep loading for tenants and stored deadlines that use the old name)."""
    for d in dirs:
        if (d / f"{name}.toml").is_file():
            return d / f"{name}.toml", name
    for d in dirs:
        for path in sorted(d.glob("*.toml")) if d.is_dir() else ():
            aliases = _read(path).get("aliases")
            if isinstance(aliases, list) and name in aliases:
                return path, path.stem
    return None


def load_pack(name: str, extra_dirs: Iterable[Path] = ()) -> RulePack:
    dirs = _dirs(extra_dirs)
    found = _find(name, dirs)
    if found is None:
        raise InvalidInput(
            "unknown_rule_pack",
            f"没有名为 {name!r} 的规则包；可用：{', '.join(available_packs(extra_dirs))}。",
            field="rule_pack",
        )
    path, expected = found
    pack = parse_pack(_read(path), str(path))
    if pack.name != expected:
        raise InvalidInput(
            "invalid_rule_pack",
            f"规则包 {path} 的 name 为 {pack.name!r}，与文件名不一致。",
            field="rule_pack",
        )
    return pack
