"""Loading rule packs: the built-in ones here plus any directory the admin adds."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from core.domain.rulepacks import RulePack, parse_pack
from core.errors import InvalidInput

BUILTIN_DIR = Path(__file__).parent / "packs"
DEFAULT_PACK = "cn-2022"


def _dirs(extra_dirs: Iterable[Path]) -> list[Path]:
    # Admin directories first so a local file can supersede a shipped pack.
    return [*map(Path, extra_dirs), BUILTIN_DIR]


def available_packs(extra_dirs: Iterable[Path] = ()) -> list[str]:
    names: set[str] = set()
    for d in _dirs(extra_dirs):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def load_pack(name: str, extra_dirs: Iterable[Path] = ()) -> RulePack:
    for d in _dirs(extra_dirs):
        path = d / f"{name}.toml"
        if path.is_file():
            with path.open("rb") as fh:
                try:
                    doc = tomllib.load(fh)
                except tomllib.TOMLDecodeError as exc:
                    raise InvalidInput(
                        "invalid_rule_pack", f"规则包 {path} 格式错误：{exc}", field="rule_pack"
                    ) from None
            pack = parse_pack(doc, str(path))
            if pack.name != name:
                raise InvalidInput(
                    "invalid_rule_pack",
                    f"规则包 {path} 的 name 为 {pack.name!r}，与文件名不一致。",
                    field="rule_pack",
                )
            return pack
    raise InvalidInput(
        "unknown_rule_pack",
        f"没有名为 {name!r} 的规则包；可用：{', '.join(available_packs(extra_dirs))}。",
        field="rule_pack",
    )
