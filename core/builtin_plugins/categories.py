"""Core's category list: ``general`` (综合), offered to every tenant. Answers list core's
categories first, and a plugin cannot take over one of their codes."""

from __future__ import annotations

from core.plugin_api import Category, hookimpl

GENERAL = Category(code="general", title_zh="综合", group="综合", description="一般信访事项")


@hookimpl(trylast=True)
def xinfang_categories() -> list[Category]:
    return [GENERAL]
