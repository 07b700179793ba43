"""Open311 with a real external client: the ``georeport`` package from PyPI (it speaks
HTTP through ``requests``) against ``xinfang serve`` in a subprocess on a free port,
with a temporary SQLite data directory set up through the ``xinfang`` CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from georeport import GeoReport

from tests.conftest import REDIS_URL, TEST_SECRET

BIN = Path(sys.executable).parent
SLUG = "georeport-heat"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("open311")
    env = {
        **os.environ,
        "XINFANG_DATA_DIR": str(data),
        "XINFANG_SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite:///{data / 'xinfang.sqlite'}",
        "REDIS_URL": REDIS_URL,
        "XINFANG_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_ADMIN_URL", None)

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(BIN / "xinfang"), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    cli("migrate")
    cli("tenant", "create", SLUG, "--name", "北城热力", "--plugin", "enterprise_logistics")
    cli("tenant", "create", "georeport-court", "--name", "区法院", "--plugin", "court")
    assert "enterprise_logistics" in cli("plugin", "list", "--tenant", SLUG)
    key = cli("open311-key", "create", "--tenant", SLUG).splitlines()[-1]
    port = _free_port()
    proc = subprocess.Popen(
        [str(BIN / "xinfang"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            proc.kill()
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "no server")
        yield base, key
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_georeport_client_lists_services_and_definitions(server: tuple[str, str]) -> None:
    base, _ = server
    client = GeoReport(f"{base}/open311/{SLUG}/v2")
    services = client.get_service_list()
    codes = {s["service_code"] for s in services}
    assert {"heating", "water", "fees", "general"} <= codes
    assert "appeal" not in codes  # the court tenant's plugin is not this tenant's
    definition = client.get_service_definition("heating")
    assert "indoor_temp" in {a["code"] for a in definition["attributes"]}
    court = GeoReport(f"{base}/open311/georeport-court/v2").get_service_list()
    assert "appeal" in {s["service_code"] for s in court}
    xml = GeoReport(f"{base}/open311/{SLUG}/v2", output_format="xml")
    assert "heating" in {s["service_code"] for s in xml.get_service_list()}
    assert xml.get_service_definition("fees")["service_code"] == "fees"


def test_georeport_client_follows_a_request_it_posted(server: tuple[str, str]) -> None:
    base, key = server
    root = f"{base}/open311/{SLUG}/v2"
    form = {
        "service_code": "heating",
        "description": "3号楼暖气不热，室温 15 度",
        "first_name": "秀英",
        "last_name": "李",
        "phone": "13900139002",
        "attribute[building]": "3号楼",
        "attribute[indoor_temp]": "15",
    }
    refused = requests.post(f"{root}/requests.json", data=form, timeout=10)
    assert refused.status_code == 403
    assert refused.json()[0]["code"] == 403
    bad = requests.post(
        f"{root}/requests.json", data={**form, "api_key": key, "phone": "12"}, timeout=10
    )
    assert bad.status_code == 422
    posted = requests.post(f"{root}/requests.json", data={**form, "api_key": key}, timeout=10)
    assert posted.status_code == 201, posted.text
    rid = posted.json()[0]["service_request_id"]

    client = GeoReport(root, api_key=key)
    one = client.get_service_request(rid)
    assert one["service_request_id"] == rid
    assert one["status"] == "open"
    assert one["service_code"] == "heating"
    many = client.get_service_requests(service_request_id=rid)
    assert [r["service_request_id"] for r in many] == [rid]
    xml = GeoReport(root, output_format="xml").get_service_request(rid)
    assert xml["service_request_id"] == rid
