"""Values of the ``web`` section of ``sloscope.yml``: who may log in to the dashboard.

``web.users`` is a list of ``{name, role, password_hash}`` mappings in the file; in the
``SLOSCOPE_WEB_USERS`` variable it is the same list as JSON. Passwords are never configured in
clear: ``sloscope web passwd`` prints the hash to paste.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sloscope.server.config_values import expect

__all__ = ["WebUser", "env_bool", "parse_secret_key", "parse_web_users"]

_ROLES = ("viewer", "editor", "admin")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# werkzeug's formats: scrypt:N:r:p$salt$hex and pbkdf2:sha256:N$salt$hex
_HASH = re.compile(r"(scrypt|pbkdf2):[^$\s]+\$[^$\s]+\$[0-9a-f]+")

WebUser = tuple[str, str, str]  # (name, role, password_hash)


def env_bool(text: str) -> object:
    """``true``/``false`` from a variable as a bool; anything else stays text and fails."""
    lowered = text.strip().lower()
    return {"true": True, "false": False}.get(lowered, text)


def parse_secret_key(raw: object) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or len(raw) < 16:
        raise expect("a random string of at least 16 characters, or empty", "<hidden>")
    return raw


def parse_web_users(raw: object) -> tuple[WebUser, ...]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise expect("a JSON list of {name, role, password_hash} objects", raw) from None
    if not isinstance(raw, list):
        raise expect("a list of {name, role, password_hash} mappings", raw)
    users = [_user(i, item) for i, item in enumerate(raw)]
    names = [u[0] for u in users]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate user names: {', '.join(duplicates)}")
    return tuple(users)


def _user(index: int, item: Any) -> WebUser:
    where = f"[{index}]"
    if not isinstance(item, dict) or set(item) != {"name", "role", "password_hash"}:
        raise ValueError(f"{where}: expected exactly the keys name, role and password_hash")
    name, role, digest = item["name"], item["role"], item["password_hash"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{where}.name: expected 1-64 letters, digits or _.@-, got {name!r}")
    if role not in _ROLES:
        raise ValueError(f"{where}.role: expected viewer, editor or admin, got {role!r}")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise ValueError(
            f"{where}.password_hash: expected a hash made by `sloscope web passwd` "
            "(scrypt:... or pbkdf2:...), never a clear password"
        )
    return name, role, digest
