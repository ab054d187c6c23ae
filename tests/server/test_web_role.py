"""The dashboard on the server's app: mounted from the ``web`` config, or 503 pages saying
what to configure; ``sloscope web passwd`` makes the hashes ``web.users`` takes."""

from __future__ import annotations

import io
import json

import pytest

from collector.store.sql import SqlStore
from sloscope.cli import main
from sloscope.server.config import load_config
from sloscope.server.run import create_http_app
from sloscope.server.web_role import mount_dashboard


@pytest.fixture
def store(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as opened:
        yield opened


def test_no_users_means_503_pages_not_an_open_dashboard(store) -> None:
    app = create_http_app(store)
    assert mount_dashboard(app, load_config(None, {}), store) is False
    client = app.test_client()
    reply = client.get("/")
    assert reply.status_code == 503 and b"web.users" in reply.data
    assert client.get("/api/v1/labels").status_code == 200  # the APIs are unaffected


def test_auth_off_mounts_the_dashboard_with_a_warning_banner(store) -> None:
    app = create_http_app(store)
    config = load_config(None, {"SLOSCOPE_WEB_AUTH": "false"})
    assert mount_dashboard(app, config, store) is True
    page = app.test_client().get("/explore?query=vector(1)")
    assert page.status_code == 200 and b"authentication is disabled" in page.data.lower()


def test_passwd_hash_logs_in(store, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("c0rrect horse\n"))
    assert main(["web", "passwd"]) == 0
    digest = capsys.readouterr().out.strip()
    users = json.dumps([{"name": "ana", "role": "editor", "password_hash": digest}])
    config = load_config(None, {"SLOSCOPE_WEB_USERS": users})
    app = create_http_app(store)
    assert mount_dashboard(app, config, store) is True
    client = app.test_client()
    assert client.get("/explore").status_code in (302, 303)  # to the log-in page
    form = client.get("/login").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    reply = client.post(
        "/login", data={"username": "ana", "password": "c0rrect horse", "csrf_token": token}
    )
    assert reply.status_code in (302, 303)
    assert client.get("/explore").status_code == 200
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["web", "passwd"]) == 1
