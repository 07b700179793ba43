"""Rule packs: the statutory numbers of one jurisdiction, as versioned data.

A pack is a TOML file (see ``core/rulepacks/packs``); adding a province is adding a
file. This module only holds the parsed shape and validates it, so a typo in a pack is
an error at load time naming the file and key, not a wrong deadline months later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import InvalidInput

CountMode = Literal["calendar", "working", "months"]
MODE_ZH = {"calendar": "自然日", "working": "工作日", "months": "月"}

# The clocks every pack must define (issue #4); packs may add their own (e.g. a
# sector's or the seeds' "matters assigned from above").
REQUIRED_CLOCKS = (
    "accept",
    "notify",
    "objection",
    "handle",
    "extension",
    "review_request",
    "review_decide",
    "rereview_request",
    "rereview_decide",
)


@dataclass(frozen=True)
class ClockRule:
    name: str
    days: int
    mode: CountMode
    title_zh: str
    basis: str = ""
    """Where the number comes from (article), shown in explanations."""
    short_zh: str = ""
    """The clock's short name, as reminders say it (「受理期限」); else ``title_zh``."""
    petitioner: bool = False
    """The window belongs to the petitioner (review, re-review, retrial requests): it is
    shown, but nobody on the staff has to act before it runs out, so it is never
    reminded, chased or escalated."""

    @property
    def mode_zh(self) -> str:
        return MODE_ZH[self.mode]


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    title_zh: str
    clocks: dict[str, ClockRule]
    group_visit_min_headcount: int = 5
    max_representatives: int = 5
    max_extensions: int = 1
    repeat_window_days: int = 365
    veteran_threshold: int = 3
    """上访老户: this many repeat matters within the window flags the person."""
    similarity_threshold: int = 70
    """rapidfuzz token-set ratio (0–100) at which two matters count as the same matter."""
    source: str = ""
    aliases: tuple[str, ...] = ()
    """Former names: tenants and stored deadlines that still say one of them load this pack."""
    extra: dict[str, Any] = field(default_factory=dict)

    def clock(self, name: str) -> ClockRule:
        try:
            return self.clocks[name]
        except KeyError:
            raise InvalidInput(
                "unknown_clock",
                f"规则包 {self.name} 中没有期限 {name!r}；可用：{', '.join(sorted(self.clocks))}。",
                field="clock",
            ) from None

    representative_tiers: tuple[tuple[int, int], ...] = ()
    """(max headcount, max representatives), smallest first: e.g. Zhejiang ≤10 → 3."""

    def representative_limit(self, headcount: int) -> int:
        """How many representatives a group visit of ``headcount`` may send."""
        for up_to, limit in self.representative_tiers:
            if headcount <= up_to:
                return min(limit, headcount)
        return min(self.max_representatives, headcount)

    @property
    def extension_max_days(self) -> int:
        return self.clocks["extension"].days

    @property
    def petitioner_windows(self) -> frozenset[str]:
        """Names of the clocks that belong to the petitioner (never staff reminders)."""
        return frozenset(name for name, rule in self.clocks.items() if rule.petitioner)


def _err(source: str, key: str, why: str) -> InvalidInput:
    return InvalidInput("invalid_rule_pack", f"规则包 {source}：{key} {why}", field=key)


def _int(doc: dict[str, Any], key: str, source: str, default: int, lo: int = 1) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise _err(source, key, f"须为不小于 {lo} 的整数。")
    return value


def parse_pack(doc: dict[str, Any], source: str) -> RulePack:
    for key in ("name", "version", "title_zh"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise _err(source, key, "缺失或不是字符串。")
    raw_clocks = doc.get("clocks")
    if not isinstance(raw_clocks, dict):
        raise _err(source, "clocks", "缺失。")
    clocks: dict[str, ClockRule] = {}
    for name, spec in raw_clocks.items():
        where = f"clocks.{name}"
        if not isinstance(spec, dict):
            raise _err(source, where, "须为表。")
        mode = spec.get("mode")
        if mode not in MODE_ZH:
            raise _err(source, f"{where}.mode", "只能是 calendar、working 或 months。")
        petitioner = spec.get("petitioner", False)
        if not isinstance(petitioner, bool):
            raise _err(source, f"{where}.petitioner", "只能是 true 或 false。")
        clocks[name] = ClockRule(
            name=name,
            days=_int(spec, "days", source, 0),
            mode=mode,
            title_zh=str(spec.get("title_zh") or name),
            basis=str(spec.get("basis") or ""),
            short_zh=str(spec.get("short_zh") or ""),
            petitioner=petitioner,
        )
    missing = [c for c in REQUIRED_CLOCKS if c not in clocks]
    if missing:
        raise _err(source, "clocks", f"缺少期限：{', '.join(missing)}。")
    group = doc.get("group_visit", {})
    tiers = []
    for i, tier in enumerate(group.get("tiers", [])):
        where = f"group_visit.tiers[{i}]"
        if not isinstance(tier, dict):
            raise _err(source, where, "须为表。")
        tiers.append(
            (
                _int(tier, "max_headcount", f"{source} {where}", 0),
                _int(tier, "max_representatives", f"{source} {where}", 0),
            )
        )
    repeat = doc.get("repeat", {})
    aliases = doc.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise _err(source, "aliases", "须为字符串列表。")
    return RulePack(
        name=doc["name"],
        version=doc["version"],
        title_zh=doc["title_zh"],
        source=str(doc.get("source") or ""),
        aliases=tuple(aliases),
        clocks=clocks,
        group_visit_min_headcount=_int(group, "min_headcount", source, 5, lo=2),
        max_representatives=_int(group, "max_representatives", source, 5),
        representative_tiers=tuple(sorted(tiers)),
        max_extensions=_int(doc.get("extension", {}), "max_count", source, 1, lo=0),
        repeat_window_days=_int(repeat, "window_days", source, 365),
        veteran_threshold=_int(repeat, "veteran_threshold", source, 3),
        similarity_threshold=_int(repeat, "similarity_threshold", source, 70),
        extra={
            k: v
            for k, v in doc.items()
            if k
            not in {
                "name",
                "version",
                "title_zh",
                "source",
                "aliases",
                "clocks",
                "group_visit",
                "repeat",
                "extension",
            }
        },
    )
