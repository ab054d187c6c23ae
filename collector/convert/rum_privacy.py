"""What RUM beacons must not carry into storage or labels: query strings, fragments and ids.

URLs become paths with numeric, UUID and long-hex segments replaced by ``:id`` (bounded label
values, no PII from queries); referrers keep their origin; URLs inside error messages and stacks
lose their queries. Device classes come from the beacon, else from User-Agent Client Hints.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["MAX_ROUTE", "derive_device_class", "scrub_path", "scrub_url", "strip_queries"]

MAX_ROUTE = 256

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,})$"
)
_URL_QUERY = re.compile(r"(https?://[^\s?#)'\"]*)[?#][^\s)'\"]*")


def scrub_path(url: str) -> str:
    """The URL's path with ids replaced by ``:id``: bounded label values, no PII in queries."""
    path = urlsplit(url).path or "/"
    segments = [":id" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return "/".join(segments)[:MAX_ROUTE]


def scrub_url(url: str) -> str:
    """Origin plus scrubbed path, for referrers, where the other site is the useful part."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else ""
    return origin + scrub_path(url)


def strip_queries(text: str) -> str:
    """``text`` (an error message, a stack) with the query and fragment cut from every URL."""
    return _URL_QUERY.sub(r"\1", text)


def derive_device_class(sent: str | None, user_agent: str, ch_mobile: str | None) -> str:
    """The beacon's device class, else one read from the UA hints (Client Hints first)."""
    if sent:
        return sent
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if ch_mobile == "?1" or "mobi" in ua or "iphone" in ua:
        return "mobile"
    return "desktop"
