"""Log-in, roles, CSRF and session cookies of the dashboard on the full server app."""

from __future__ import annotations

import pytest
from flask import jsonify
from web_testdata import PASSWORDS, csrf_from, log_in

from web import WebConfigError, register_web
from web.area import area_blueprint
from web.auth import hash_password, requires, verify_password
from web.queries import Sources
from web.settings import Role, User, WebSettings


def editor_blueprint():
    """An editor-only form, built the way an area adds one (docs/dashboard.md)."""
    blueprint = area_blueprint("test_editor", __name__)

    @blueprint.post("/test/silence")
    @requires(Role.EDITOR)
    def create_silence():
        return jsonify(created=True)

    return blueprint


@pytest.fixture
def app(make_app):
    return make_app(extra_blueprints=[editor_blueprint()])


def test_pages_redirect_to_login_and_twins_answer_401(app):
    client = app.test_client()
    page = client.get("/traces?range=6h")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/traces?range%3D6h"
    twin = client.get("/api/ui/traces")
    assert twin.status_code == 401
    assert twin.get_json() == {
        "status": "error",
        "errorType": "unauthorized",
        "error": "log in first: no valid session",
    }


def test_login_sets_a_hardened_session_cookie_and_follows_next(app):
    client = app.test_client()
    token = csrf_from(client.get("/login?next=/explore").get_data(as_text=True))
    form = {"username": "vera", "password": PASSWORDS["vera"], "csrf_token": token}
    response = client.post("/login?next=/explore", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/explore"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("sloscope_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/ui/home").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(app, target):
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    form = {"username": "vera", "password": PASSWORDS["vera"], "csrf_token": token, "next": target}
    assert client.post("/login", data=form).headers["Location"] == "/"


@pytest.mark.parametrize(("name", "password"), [("vera", "wrong"), ("nobody", "viewer-pass")])
def test_a_wrong_name_or_password_is_refused_alike(app, name, password):
    client = app.test_client()
    response = log_in(client, name, password)
    assert response.status_code == 401
    assert "Unknown user or wrong password." in response.get_data(as_text=True)
    assert client.get("/api/ui/home").status_code == 401


def test_login_without_csrf_token_is_400(app):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "vera", "password": PASSWORDS["vera"]})
    assert response.status_code == 400
    assert "CSRF check failed: The CSRF token is missing." in response.get_data(as_text=True)


@pytest.mark.parametrize(("user", "status"), [("vera", 403), ("ed", 200), ("ada", 200)])
def test_editor_forms_need_the_editor_role(app, user, status):
    client = app.test_client()
    log_in(client, user)
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/test/silence", data={"csrf_token": token}).status_code == status


def test_forms_without_or_with_a_foreign_csrf_token_are_400(app):
    client, other = app.test_client(), app.test_client()
    log_in(client, "ed")
    log_in(other, "ed")
    foreign = csrf_from(other.get("/").get_data(as_text=True))
    missing = client.post("/test/silence")
    assert missing.status_code == 400
    wrong = client.post("/test/silence", data={"csrf_token": foreign})
    assert wrong.status_code == 400
    assert "do not match" in wrong.get_data(as_text=True)
    header = client.post("/test/silence", headers={"X-CSRFToken": csrf_from(client.get("/").text)})
    assert header.status_code == 200


def test_logout_is_a_csrf_protected_post(app):
    client = app.test_client()
    log_in(client, "vera")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/ui/home").status_code == 401


def test_ingest_and_prometheus_api_ignore_session_and_csrf(app):
    """The collector's paths keep their own rules: no CSRF token, no session needed."""
    client = app.test_client()
    query = client.post("/api/v1/query", data={"query": "1+1", "time": "1"})
    assert query.status_code == 200
    assert query.get_json()["data"]["result"][1] == "2"
    otlp = client.post("/v1/traces", data=b"", content_type="application/x-protobuf")
    assert otlp.status_code == 200


def test_without_auth_everyone_is_admin_and_a_banner_warns(make_app):
    client = make_app(auth=False, extra_blueprints=[editor_blueprint()]).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Authentication is disabled." in page
    token = csrf_from(page)
    assert client.post("/test/silence", data={"csrf_token": token}).status_code == 200
    assert client.post("/test/silence").status_code == 400  # CSRF still applies
    assert client.get("/login").status_code == 302


def test_a_removed_user_loses_access_at_once(app, users):
    client = app.test_client()
    log_in(client, "vera")
    context = app.extensions["sloscope.web"]
    context.settings = WebSettings(users=tuple(u for u in users if u.name != "vera"))
    assert client.get("/api/ui/home").status_code == 401


def test_pages_carry_security_headers(app):
    client = app.test_client()
    log_in(client, "vera")
    headers = client.get("/explore").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_auth_without_users_is_a_configuration_error(seeded):
    from flask import Flask

    with pytest.raises(WebConfigError, match="web.users is empty"):
        register_web(Flask("x"), Sources(seeded.store), WebSettings(auth_enabled=True))


def test_password_hashes_and_settings_validation():
    digest = hash_password("s3cret")
    assert digest.startswith("scrypt:")
    assert verify_password(digest, "s3cret") and not verify_password(digest, "S3cret")
    assert not verify_password("not-a-hash", "s3cret")
    with pytest.raises(ValueError, match="must not be empty"):
        hash_password("")
    with pytest.raises(ValueError, match="duplicate user names: a"):
        WebSettings(users=(User("a", Role.VIEWER, digest), User("a", Role.ADMIN, digest)))
    assert Role.parse(" Editor ") is Role.EDITOR
    with pytest.raises(ValueError, match="expected one of viewer, editor, admin"):
        Role.parse("root")
