"""Typesetting: a document's words as a PDF, through the Typst compiler (the ``typst``
wheel: self-contained, no system libraries) with the Noto CJK fonts embedded as subsets.

The layout is one file (``layout.typ``); the words reach it as JSON in ``sys.inputs``,
so no text — a tenant's template, a petitioner's name — is ever read as Typst markup.
The fonts come from Debian's ``fonts-noto-cjk`` (or ``XINFANG_CJK_FONT_DIR``); the
system's other fonts are ignored so that every host prints the same pages."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

import anyio.to_thread

from core.errors import DomainError
from core.settings import TIMEZONE

LAYOUT = Path(__file__).with_name("layout.typ")
VOLUME = Path(__file__).with_name("volume.typ")
REPORT = Path(__file__).with_name("report.typ")
FONT_ENV = "XINFANG_CJK_FONT_DIR"
FONT_DIRS = (
    "/usr/share/fonts/opentype/noto",  # Debian/Ubuntu fonts-noto-cjk
    "/usr/share/fonts/noto-cjk",  # Arch noto-fonts-cjk
    "/usr/share/fonts/google-noto-cjk",  # Fedora
    "/usr/share/fonts/opentype/noto-cjk",
)
FONT_FILES = ("NotoSerifCJK", "NotoSansCJK")


class FontsMissing(DomainError):
    """The CJK fonts are not installed: the deployment must add them."""

    status = 503


@dataclass(frozen=True)
class Page:
    """What one document says, ready to set: the layout decides where it goes."""

    title: str
    paragraphs: list[str]
    signer: str
    date: str
    addressee: str = ""
    number: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    footnote: str = ""


def font_dir() -> Path:
    """The directory holding Noto CJK (Serif preferred, Sans as fallback)."""
    configured = os.environ.get(FONT_ENV)
    candidates = [configured] if configured else list(FONT_DIRS)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_dir() and any(
            f.name.startswith(FONT_FILES) for f in path.iterdir() if f.is_file()
        ):
            return path
    where = configured or "、".join(FONT_DIRS)
    raise FontsMissing(
        "fonts_missing",
        f"未找到 Noto CJK 中文字体（查找位置：{where}）。请安装 fonts-noto-cjk"
        f"（apt-get install fonts-noto-cjk），或用环境变量 {FONT_ENV} 指定字体目录。",
    )


@lru_cache(maxsize=4)
def _fonts(directory: str) -> Any:
    import typst

    return typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[directory]
    )


def _compile(data: str, fonts: Any, stamp: datetime, layout: Path = LAYOUT) -> bytes:
    import typst

    out = typst.compile(
        layout.read_bytes(),
        root=str(layout.parent),
        font_paths=fonts,
        sys_inputs={"data": data},
        timestamp=stamp,
    )
    assert isinstance(out, bytes)
    return out


async def render_pdf(page: Page, *, on: date) -> bytes:
    """The PDF of ``page``; ``on`` is its creation date (so the same document gives the
    same bytes). The compiler runs in a worker thread: it takes a fraction of a second."""
    return await render_layout(LAYOUT, asdict(page), on=on)


async def render_layout(layout: Path, data: dict[str, Any], *, on: date) -> bytes:
    """The PDF of ``layout`` (a ``.typ`` file beside this one) given ``data`` as JSON."""
    fonts = _fonts(str(font_dir()))
    text = json.dumps(data, ensure_ascii=False)
    stamp = datetime.combine(on, time(12), tzinfo=TIMEZONE).astimezone(UTC)
    return await anyio.to_thread.run_sync(_compile, text, fonts, stamp, layout)
