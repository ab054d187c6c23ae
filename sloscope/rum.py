r"""The real-user-monitoring (RUM) ``<script>`` tag that pages include to report to a collector.

    >>> from sloscope import rum
    >>> tag = rum.snippet(
    ...     "https://collector.example", service="shop", app_key="pk_shop_1", page="/cart"
    ... )
    >>> print(tag.replace(" ", "\n  "))  # one attribute a line, to read it here
    <script
      src="https://collector.example/rum/v1/sloscope-rum.js"
      defer
      crossorigin="anonymous"
      data-service="shop"
      data-app-key="pk_shop_1"
      data-page="/cart"
      data-sample-rate="1.0"
      data-beacon-url="https://collector.example/rum/v1/beacons"></script>

The tag loads ``<collector_url>/rum/v1/sloscope-rum.js`` with ``defer`` (it never blocks
rendering) and ``crossorigin="anonymous"`` (no cookies go to the collector, and its errors are
readable under CORS). The script reads its configuration from its own tag
(``document.currentScript.dataset``). The contract, stable within ``/rum/v1/``:

``data-service`` (always)
    The service the page belongs to, as in ``sloscope.init(service_name=...)``.
``data-app-key`` (optional)
    The app's public key from the collector's ``rum.apps`` configuration; the collector
    refuses beacons without a known key (401/403), so a tag without one reports nothing (the
    script says so in the browser console). It is public by design: the collector's list of
    allowed origins is the real gate.
``data-page`` (optional)
    The route template to report the page as, e.g. ``/product/<id>``, so metrics do not get a
    label per URL. Absent: the script reports ``location.pathname``.
``data-sample-rate`` (always)
    Fraction of sessions that report, in ``[0, 1]``, as a decimal float (``"1.0"``,
    ``"0.25"``, ``"1e-05"``); the script draws once per browser session (kept in
    ``sessionStorage``), so a session reports all its page views or none.
``data-beacon-url`` (always)
    Absolute URL the script posts its beacons to: ``<collector_url>/rum/v1/beacons``.

``nonce`` is copied to the tag for a Content-Security-Policy ``script-src 'nonce-...'``. Every
value is HTML-escaped, so the tag is safe to insert verbatim into a template (mark it safe
there, e.g. ``Markup(snippet(...))`` in Jinja).
"""

from __future__ import annotations

import math
from html import escape
from numbers import Real
from urllib.parse import urlsplit

__all__ = ["snippet"]

SCRIPT_PATH = "/rum/v1/sloscope-rum.js"
BEACON_PATH = "/rum/v1/beacons"


def snippet(
    collector_url: str = "http://127.0.0.1:9900",
    *,
    service: str,
    app_key: str | None = None,
    page: str | None = None,
    sample_rate: float = 1.0,
    nonce: str | None = None,
) -> str:
    """The ``<script>`` tag that loads the RUM script, configured for this page.

    >>> tag = snippet(service="shop", sample_rate=0.25, nonce="r4nd0m")
    >>> tag.startswith('<script src="http://127.0.0.1:9900/rum/v1/sloscope-rum.js" defer')
    True
    >>> 'nonce="r4nd0m"' in tag and 'data-sample-rate="0.25"' in tag
    True

    :param collector_url: the collector's base URL (http or https; a path prefix is kept).
    :param service: the service name the beacons are reported under.
    :param app_key: the app's public key in the collector's ``rum.apps`` (None: no beacon is
        accepted until the tag has one).
    :param page: the route template; None lets the script use ``location.pathname``.
    :param sample_rate: fraction of browser sessions that report, 0 to 1.
    :param nonce: the request's CSP nonce, if the page's policy uses nonces.
    :raise ValueError: for a bad URL, an empty service, app key, page or nonce, or a rate
        outside 0..1.
    """
    base = _base_url(collector_url)
    rate = _sample_rate(sample_rate)
    if not isinstance(service, str) or not service.strip():
        raise ValueError("service must be a non-empty string")
    if app_key is not None and (not isinstance(app_key, str) or not app_key.strip()):
        raise ValueError("app_key must be a non-empty string or None")
    if page is not None and (not isinstance(page, str) or not page.strip()):
        raise ValueError("page must be a non-empty string or None")
    if nonce is not None and (not isinstance(nonce, str) or not nonce.strip()):
        raise ValueError("nonce must be a non-empty string or None")
    attributes: list[tuple[str, str | None]] = [
        ("src", base + SCRIPT_PATH),
        ("defer", None),
        ("crossorigin", "anonymous"),
        ("nonce", nonce),
        ("data-service", service),
        ("data-app-key", app_key),
        ("data-page", page),
        ("data-sample-rate", rate),
        ("data-beacon-url", base + BEACON_PATH),
    ]
    parts = ["<script"]
    for name, value in attributes:
        if name == "defer":
            parts.append(name)
        elif value is not None:
            parts.append(f'{name}="{escape(value, quote=True)}"')
    return " ".join(parts) + "></script>"


def _base_url(collector_url: str) -> str:
    if not isinstance(collector_url, str):
        raise ValueError(f"collector_url must be a string, got {type(collector_url).__name__}")
    try:
        parts = urlsplit(collector_url.strip())
        parts.port  # noqa: B018 - parsing the port is what validates it
    except ValueError as exc:
        raise ValueError(f"collector_url {collector_url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"collector_url must be an http:// or https:// URL, got {collector_url!r}")
    if not parts.hostname:
        raise ValueError(f"collector_url has no host: {collector_url!r}")
    if parts.username is not None or parts.password is not None:
        # The tag is public page source: credentials in it would be handed to every visitor.
        raise ValueError("collector_url must not contain credentials")
    if parts.query or parts.fragment:
        raise ValueError(f"collector_url must not have a query or fragment: {collector_url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _sample_rate(sample_rate: float) -> str:
    # bool is a Real too, but True as a rate is a bug in the caller, not 1.0.
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, Real):
        raise ValueError(f"sample_rate must be a number, got {type(sample_rate).__name__}")
    rate = float(sample_rate)
    if math.isnan(rate) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate!r}")
    # repr() is the shortest text that parses back to the same float (JS parseFloat reads it).
    return repr(rate)
