"""`xinfang deadline explain` and `xinfang calendar import/show` as an admin runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.calendar_notice import ROWS_2027, notice_2027_csv

ROOT = Path(__file__).resolve().parents[2]


def _xinfang(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DATABASE_ADMIN_URL", "XINFANG_SECRET_KEY"}
    }
    env["XINFANG_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_deadline_explain_text_and_json(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = _xinfang(
        "deadline",
        "explain",
        "--pack",
        "cn-2022",
        "--clock",
        "handle",
        "--start",
        "2026-09-16",
        "--paused",
        "2026-09-20:2026-09-22",
        "--json",
        env=env,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"due", "provisional", "pack", "version", "steps"}
    assert doc["due"] == "2026-11-18" and doc["provisional"] is False
    assert doc["pack"] == "cn-2022" and doc["version"] == "2022.1"
    assert any("暂停" in s for s in doc["steps"])
    text = _xinfang(
        "deadline",
        "explain",
        "--pack",
        "zhejiang",
        "--clock",
        "handle",
        "--start",
        "2026-09-16",
        env=env,
    )
    assert text.returncode == 0 and "届满日：2026-10-16" in text.stdout
    bad = _xinfang("deadline", "explain", "--clock", "handle", "--start", "16/09/2026", env=env)
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_calendar_import_makes_a_year_official_and_recounts(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _xinfang("init", env=env).returncode == 0
    before = _xinfang(
        "deadline", "explain", "--clock", "objection", "--start", "2026-12-29", "--json", env=env
    )
    assert json.loads(before.stdout)["provisional"] is True
    shown = _xinfang("calendar", "show", "2027", env=env)
    assert "临时" in shown.stdout
    notice = tmp_path / "2027.csv"
    notice.write_text(notice_2027_csv(), encoding="utf-8")
    imported = _xinfang("calendar", "import", str(notice), env=env)
    assert imported.returncode == 0, imported.stderr
    assert f"已导入 2027 年工作日历（{len(ROWS_2027)} 条）" in imported.stdout
    after = json.loads(
        _xinfang(
            "deadline",
            "explain",
            "--clock",
            "objection",
            "--start",
            "2026-12-29",
            "--json",
            env=env,
        ).stdout
    )
    # 30, 31, then New Year off → Jan 4, 5, 6.
    assert after["provisional"] is False and after["due"] == "2027-01-06"
    assert "官方" in _xinfang("calendar", "show", "2027", env=env).stdout
    broken = tmp_path / "broken.csv"
    broken.write_text("date,kind\n2027-01-04,workday\n", encoding="utf-8")
    refused = _xinfang("calendar", "import", str(broken), env=env)
    assert refused.returncode != 0 and "周六或周日" in refused.stderr
