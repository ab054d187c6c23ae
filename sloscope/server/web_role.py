"""The web role: the dashboard mounted on the server's app, from the ``web`` configuration.

With log-in required and no users configured the dashboard is not mounted; its pages answer
503 with what to configure instead, so a fresh server never exposes an open dashboard by
accident and never refuses to start either.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sloscope.server.config import Config

__all__ = ["mount_dashboard", "web_settings"]

log = logging.getLogger("sloscope.web")

NO_USERS = (
    "The dashboard needs users: add web.users to sloscope.yml (hash passwords with "
    "`sloscope web passwd`), or set web.auth: false for a local demo.\n"
)


def web_settings(config: Config):
    from web.settings import Role, User, WebSettings

    web = config.web
    return WebSettings(
        auth_enabled=web.auth,
        users=tuple(User(name, Role.parse(role), digest) for name, role, digest in web.users),
        secret_key=web.secret_key,
        session_lifetime=timedelta(milliseconds=web.session_lifetime_ms),
        cookie_secure=web.cookie_secure,
    )


def mount_dashboard(app, config: Config, store, collector=None, rules=None) -> bool:
    """Mount the dashboard; False (and 503 pages) when log-in is on and nobody may log in."""
    if config.web.auth and not config.web.users:
        log.warning("dashboard not mounted: %s", NO_USERS.strip())

        def unavailable(path: str = ""):
            return NO_USERS, 503, {"Content-Type": "text/plain; charset=utf-8"}

        app.add_url_rule("/", "dashboard_unavailable", unavailable)
        app.add_url_rule("/login", "dashboard_unavailable_login", unavailable)
        return False
    from web import register_web
    from web.queries import Sources

    sources = Sources(
        store,
        span_store=None if collector is None else collector.span_store,
        rule_manager=None if rules is None else rules.manager,
        notifier=None if rules is None else rules.notifier,
        slos=() if rules is None else rules.slos,
        outbox=None if rules is None else rules.outbox,
        exemplars=None if collector is None else collector.exemplar_store,
    )
    register_web(app, sources, web_settings(config))
    return True


def run_passwd(args) -> int:
    """``sloscope web passwd``: read a password (twice on a terminal) and print its hash."""
    import getpass
    import sys

    from web.auth import hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            print("sloscope: the passwords differ", file=sys.stderr)
            return 1
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    try:
        print(hash_password(first))
    except ValueError as exc:
        print(f"sloscope: {exc}", file=sys.stderr)
        return 1
    return 0
