"""Log-in state and role checks.

A session holds only the user's name; the role is looked up in the settings on every request,
so removing a user or lowering a role takes effect at once. Passwords are checked with
werkzeug's hashes. With authentication disabled everyone acts as :data:`ANONYMOUS_ADMIN`.

>>> check = hash_password("correct horse")
>>> verify_password(check, "correct horse"), verify_password(check, "wrong")
(True, False)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, g, session
from werkzeug.security import check_password_hash, generate_password_hash

from web.context import web_context
from web.settings import Role, User

__all__ = [
    "ANONYMOUS_ADMIN",
    "CurrentUser",
    "current_user",
    "hash_password",
    "log_in",
    "log_out",
    "requires",
    "verify_password",
]

_SESSION_KEY = "user"
# Checked against when the user name is unknown, so a wrong name costs as long as a wrong
# password and response times do not reveal which names exist.
_DUMMY_HASH = generate_password_hash("sloscope-no-such-user")


@dataclass(frozen=True)
class CurrentUser:
    """Who is asking: a configured user, or the anonymous administrator of a dashboard
    without authentication."""

    name: str
    role: Role
    authenticated: bool

    def may(self, role: Role) -> bool:
        return self.role >= role


ANONYMOUS_ADMIN = CurrentUser("anonymous", Role.ADMIN, authenticated=False)


def hash_password(plain: str) -> str:
    """The hash to put in ``web.users[].password_hash`` (werkzeug's scrypt format).

    :raise ValueError: for an empty password.
    """
    if not plain:
        raise ValueError("the password must not be empty")
    return generate_password_hash(plain)


def verify_password(password_hash: str, plain: str) -> bool:
    """Whether ``plain`` matches ``password_hash``; False for a malformed hash."""
    try:
        return check_password_hash(password_hash, plain)
    except (ValueError, TypeError):
        return False


def authenticate(users: Callable[[str], User | None], name: str, plain: str) -> User | None:
    """The user if ``name`` exists and ``plain`` is its password, else None (in equal time)."""
    user = users(name)
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, plain)
    return user if user is not None and ok else None


def current_user() -> CurrentUser | None:
    """The user of this request, or None when nobody is logged in (with auth enabled)."""
    if "web_user" in g:
        return g.web_user
    settings = web_context().settings
    found: CurrentUser | None = ANONYMOUS_ADMIN
    if settings.auth_enabled:
        user = settings.user(session.get(_SESSION_KEY) or "")
        found = None if user is None else CurrentUser(user.name, user.role, authenticated=True)
    g.web_user = found
    return found


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` (a new session id: no fixation)."""
    session.clear()
    session.permanent = True
    session[_SESSION_KEY] = user.name
    g.pop("web_user", None)


def log_out() -> None:
    session.clear()
    g.pop("web_user", None)


def requires(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: 403 unless the current user has at least ``role``.

    The blueprint guard (:func:`web.area.area_blueprint`) has already turned away anonymous
    requests and checked the CSRF token by the time this runs.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None or not user.may(role):
                abort(403, description=f"this needs the {role.label} role")
            return view(*args, **kwargs)

        checked.required_role = role  # type: ignore[attr-defined]
        return checked

    return decorate
