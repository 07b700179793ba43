"""Rule packs: the statutory numbers of one jurisdiction, as versioned data.

A pack is a TOML file (see ``core/rulepacks/packs``); adding a province is adding a
file. This module holds the file's shape (msgspec Structs with their bounds, decoded by
``msgspec.convert``) and the parsed pack, so a typo in a pack is an error at load time
naming the file and key, not a wrong deadline months later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from core.errors import DomainError, InvalidInput
from core.validation import convert

T = TypeVar("T")

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


# The file's shape, as msgspec decodes it: types, bounds and the sections' keys are
# checked here (a misspelt key in a section is refused, not silently ignored).
Count = Annotated[int, msgspec.Meta(ge=1)]
Text = Annotated[str, msgspec.Meta(min_length=1)]


class ClockSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    days: Count
    mode: CountMode
    title_zh: str = ""
    basis: str = ""
    short_zh: str = ""
    petitioner: bool = False


class TierSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_headcount: Count
    max_representatives: Count


class GroupVisitSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min_headcount: Annotated[int, msgspec.Meta(ge=2)] = 5
    max_representatives: Count = 5
    tiers: list[TierSpec] = []


class ExtensionSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_count: Annotated[int, msgspec.Meta(ge=0)] = 1


class RepeatSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    window_days: Count = 365
    veteran_threshold: Count = 3
    similarity_threshold: Annotated[int, msgspec.Meta(ge=1, le=100)] = 70


class PackSpec(msgspec.Struct, frozen=True):
    """A pack file. Keys it does not name are the pack's ``extra`` (e.g. ``[screening]``)."""

    name: Text
    version: Text
    title_zh: Text
    # Each clock is converted on its own: msgspec's path says ``clocks[...]`` for a
    # table's value, and the error must name the clock.
    clocks: dict[str, Any]
    source: str = ""
    aliases: list[Text] = []
    group_visit: GroupVisitSpec = GroupVisitSpec()
    extension: ExtensionSpec = ExtensionSpec()
    repeat: RepeatSpec = RepeatSpec()


def _convert(value: Any, type_: type[T], source: str, prefix: str = "") -> T:
    try:
        return convert(value, type_, prefix=prefix)
    except DomainError as exc:
        field = exc.field or prefix or "rule_pack"
        raise InvalidInput(
            "invalid_rule_pack", f"规则包 {source}：{exc.message}", field=field
        ) from None


def parse_pack(doc: dict[str, Any], source: str) -> RulePack:
    spec = _convert(doc, PackSpec, source)
    clocks: dict[str, ClockRule] = {}
    for name, raw in spec.clocks.items():
        c = _convert(raw, ClockSpec, source, f"clocks.{name}")
        clocks[name] = ClockRule(
            name=name,
            days=c.days,
            mode=c.mode,
            title_zh=c.title_zh or name,
            basis=c.basis,
            short_zh=c.short_zh,
            petitioner=c.petitioner,
        )
    missing = [c for c in REQUIRED_CLOCKS if c not in clocks]
    if missing:
        raise _err(source, "clocks", f"缺少期限：{', '.join(missing)}。")
    group = spec.group_visit
    return RulePack(
        name=spec.name,
        version=spec.version,
        title_zh=spec.title_zh,
        source=spec.source,
        aliases=tuple(spec.aliases),
        clocks=clocks,
        group_visit_min_headcount=group.min_headcount,
        max_representatives=group.max_representatives,
        representative_tiers=tuple(
            sorted((t.max_headcount, t.max_representatives) for t in group.tiers)
        ),
        max_extensions=spec.extension.max_count,
        repeat_window_days=spec.repeat.window_days,
        veteran_threshold=spec.repeat.veteran_threshold,
        similarity_threshold=spec.repeat.similarity_threshold,
        extra={k: v for k, v in doc.items() if k not in PackSpec.__struct_fields__},
    )
