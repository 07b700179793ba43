"""One table of case status labels (core.domain.lifecycle.STATUS_ZH): pages render it
through the ``status_zh`` filter, Open311 words a few of them for the public, and no
template or module keeps a copy of its own."""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine

from core.domain.lifecycle import ACTIONS, STATUS_PUBLIC_ZH, STATUS_ZH, status_zh
from core.web.pages import configure_templates

ROOT = Path(__file__).resolve().parents[2]


def test_every_state_has_a_label_for_staff_and_public() -> None:
    states = {"registered"} | {a.target for a in ACTIONS.values() if a.target}
    states |= {s for a in ACTIONS.values() for s in a.sources}
    assert states <= set(STATUS_ZH)
    assert set(STATUS_PUBLIC_ZH) == set(STATUS_ZH)
    assert status_zh("accepted") == "已受理" and status_zh("martian") == "martian"


def test_pages_render_labels_from_the_one_table() -> None:
    engine = JinjaTemplateEngine(directory=ROOT / "core/web/templates")
    configure_templates(engine)
    template = engine.engine.from_string("{{ s | status_zh }}")
    for status, label in STATUS_ZH.items():
        assert template.render(s=status) == label


def test_no_other_copy_of_the_labels() -> None:
    labels = set(STATUS_ZH.values()) | set(STATUS_PUBLIC_ZH.values())
    sources = [*(ROOT / "core/web/templates").glob("*.html")]
    table = ROOT / "core/domain/lifecycle.py"
    sources += [p for p in (ROOT / "core").rglob("*.py") if p != table]
    sources += [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "daemon").rglob("*.py")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        copied = [label for label in labels if f'"{label}"' in text or f">{label}<" in text]
        assert not copied, (path, copied)
