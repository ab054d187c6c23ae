"""The dashboard's settings: who may log in with which role, and how sessions behave.

The server builds one :class:`WebSettings` from the ``web:`` section of ``sloscope.yml``
(``web.auth``, ``web.users``, ``web.secret_key``, ``web.session_lifetime``,
``web.cookie_secure``) and passes it to :func:`web.register_web`.

>>> from web.auth import hash_password
>>> settings = WebSettings(users=(User("ana", Role.EDITOR, hash_password("s3cret")),))
>>> settings.user("ana").role >= Role.VIEWER
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["Role", "User", "WebSettings"]


class Role(enum.IntEnum):
    """What a user may do; each role may do everything the roles below it may."""

    VIEWER = 1  # read every page
    EDITOR = 2  # create and expire silences, acknowledge
    ADMIN = 3  # users and configuration

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``viewer``, ``editor`` or ``admin`` (any case).

        :raise ValueError: naming the accepted roles.
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {text!r}: expected one of {names}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class User:
    """A user from the configuration; ``password_hash`` is werkzeug's format
    (``scrypt:...`` or ``pbkdf2:...``), made by :func:`web.auth.hash_password`."""

    name: str
    role: Role
    password_hash: str


@dataclass(frozen=True)
class WebSettings:
    """Authentication and session settings of the dashboard.

    ``auth_enabled=False`` lets everyone in as an administrator (the embedded demo); every page
    then shows a warning banner. An empty ``secret_key`` makes :func:`web.register_web` pick a
    random one, so sessions end when the process does.
    """

    auth_enabled: bool = True
    users: tuple[User, ...] = ()
    secret_key: str = ""
    session_lifetime: timedelta = field(default=timedelta(hours=12))
    cookie_secure: bool = False  # set behind HTTPS so the browser never sends it in clear

    def __post_init__(self) -> None:
        names = [u.name for u in self.users]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"web.users: duplicate user names: {', '.join(duplicates)}")
        if self.session_lifetime <= timedelta(0):
            raise ValueError("web.session_lifetime must be positive")

    def user(self, name: str) -> User | None:
        """The configured user called ``name``, or None."""
        return next((u for u in self.users if u.name == name), None)
