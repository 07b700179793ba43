"""The documents' wording: every shipped template renders with exactly the variables
its document has, the sandbox refuses reaching for internals, and the typesetter gets
the words as data (Typst markup in a name stays text)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from datetime import date

import pytest

from core.errors import InvalidInput
from core.services.documents.catalog import KINDS, sample_values, variables_of
from core.services.documents.typeset import Page, render_pdf
from core.services.documents.wording import DEFAULTS, from_plugin, render


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_default_renders_with_its_own_variables(kind: str) -> None:
    paragraphs = render(DEFAULTS[kind], sample_values(kind))
    assert len(paragraphs) >= 2
    used = set(re.findall(r"\{\{ (\w+)", DEFAULTS[kind]))
    assert used <= set(variables_of(kind)), used - set(variables_of(kind))


def test_a_variable_of_another_document_is_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        render("{{ plan }}", sample_values("receipt"))
    assert e.value.code == "template_variable"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ receipt_code.__class__.__base__.__subclasses__() }}",
        "{{ lipsum.__globals__ }}",
        "{{ [].append(1) }}",
        "{% set x = {} %}{{ x.update(a=1) }}",
    ],
)
def test_the_sandbox_refuses(source: str) -> None:
    with pytest.raises(InvalidInput) as e:
        render(source, sample_values("receipt"))
    assert e.value.code in ("template_unsafe", "template_variable")


def test_plugin_placeholders_become_jinja() -> None:
    assert (
        from_plugin("回执号 {receipt_code}，{channel}")
        == "回执号 {{ receipt_code }}，{{ channel }}"
    )


def test_typst_markup_in_the_words_stays_text() -> None:
    page = Page(
        title="测试",
        paragraphs=['#set page(paper: "a5") $x^2$ *粗* <b> = 标题', "第二段"],
        signer="某机构",
        date="2026年12月8日",
        addressee="张#三",
    )
    pdf = asyncio.run(render_pdf(page, on=date(2026, 12, 8)))
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        text = subprocess.run(
            ["pdftotext", f.name, "-"], check=True, capture_output=True, text=True
        ).stdout
        info = subprocess.run(["pdfinfo", f.name], check=True, capture_output=True, text=True)
    flat = re.sub(r"\s+", "", text)
    assert '#setpage(paper:"a5")$x^2$*粗*<b>=标题' in flat and "张#三：" in flat
    assert "A4" in info.stdout or "595" in info.stdout  # the page stayed A4
