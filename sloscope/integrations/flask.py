"""Flask: RED metrics, one server span per request and a ``/metrics`` route, per app.

Users call it through the facade :mod:`sloscope.flask`; see :func:`init_app`.

Why a WSGI middleware (``app.wsgi_app = ...``, the wrapping Flask's docs recommend) rather
than ``before_request``/``after_request``:

- it sees every request, including those another extension's ``before_request`` answers early
  and those whose exception escapes Flask (``PROPAGATE_EXCEPTIONS``), when request hooks may not
  run at all;
- the duration covers sending the body (streamed responses too), as the semantic conventions
  define ``http.server.request.duration``;
- the span is current around the whole dispatch, so every hook and the view nest under it.

Only a ``teardown_request`` hook is added, because only inside Flask is the matched URL rule
known; Flask runs teardown for every request, even after an unhandled error, and it hands that
error over. The middleware holds no reference to the app (the Flask extension rule).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Gauge, Histogram

from sloscope._client import Client, get_client
from sloscope._internal_errors import capture_internal_exceptions
from sloscope.exposition import metrics_response
from sloscope.integrations import DidNotEnable

try:
    import flask
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise DidNotEnable("Flask is not installed") from exc

__all__ = ["REQUEST_DURATION_BUCKETS", "UNMATCHED_ROUTE", "init_app"]

log = logging.getLogger("sloscope")

MIN_FLASK_VERSION = (2, 2)


def _major_minor(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


if _major_minor(metadata.version("flask")) < MIN_FLASK_VERSION:  # pragma: no cover
    raise DidNotEnable(f"Flask {metadata.version('flask')} is older than 2.2")

#: OpenTelemetry semantic-convention buckets for ``http.server.request.duration``.
SEMCONV_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
#: Latency SLO thresholds: a bucket boundary at each makes "share under the threshold" exact.
SLO_THRESHOLDS_S = (0.2, 0.5, 1)
#: Histogram buckets: the semconv ones with the SLO thresholds merged in.
REQUEST_DURATION_BUCKETS = tuple(sorted({float(b) for b in SEMCONV_BUCKETS + SLO_THRESHOLDS_S}))
#: ``http_route`` of requests no URL rule matched (404, 405, redirects to a slash): one series,
#: whatever the raw path, so scanners cannot blow up the cardinality.
UNMATCHED_ROUTE = ""

# Methods outside this set are reported as "_OTHER" (semconv): a client can send any token.
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ENVIRON_KEY = "sloscope.flask.request"
_EXTENSION_KEY = "sloscope"


class _EnvironGetter(Getter[dict]):
    """Reads propagation headers (``traceparent``) straight from the WSGI environ."""

    def get(self, carrier: dict, key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return None if value is None else [value]

    def keys(self, carrier: dict) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


_GETTER = _EnvironGetter()


@dataclass(frozen=True)
class _Instruments:
    duration: Histogram
    active: Gauge


def _make_instruments(registry: CollectorRegistry) -> _Instruments:
    return _Instruments(
        duration=Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, by method, route template and status.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=REQUEST_DURATION_BUCKETS,
            registry=registry,
        ),
        active=Gauge(
            "http_server_active_requests",
            "HTTP server requests in flight, by method.",
            ["http_request_method"],
            registry=registry,
        ),
    )


@dataclass(frozen=True)
class _AppState:
    """What ``app.extensions["sloscope"]`` holds for one app."""

    metrics_path: str | None


def _normalise_method(environ: dict) -> str:
    method = str(environ.get("REQUEST_METHOD", "")).upper()
    return method if method in _KNOWN_METHODS else "_OTHER"


def _server_address(environ: dict, scheme: str) -> tuple[str, int]:
    host = environ.get("HTTP_HOST")
    if not host:
        return str(environ.get("SERVER_NAME", "")), int(environ.get("SERVER_PORT") or 0)
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name.strip("[]"), int(port)
    return host.strip("[]"), _DEFAULT_PORTS.get(scheme, 0)


def _request_attributes(environ: dict, method: str) -> dict[str, Any]:
    scheme = str(environ.get("wsgi.url_scheme", "http"))
    address, port = _server_address(environ, scheme)
    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}" or "/"
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": path,
        "url.scheme": scheme,
        "server.address": address,
        "server.port": port,
    }
    if method == "_OTHER":
        attributes["http.request.method_original"] = str(environ.get("REQUEST_METHOD", ""))
    protocol = str(environ.get("SERVER_PROTOCOL", ""))
    if protocol.startswith("HTTP/"):
        attributes["network.protocol.version"] = protocol[5:]
    if environ.get("HTTP_USER_AGENT"):
        attributes["user_agent.original"] = environ["HTTP_USER_AGENT"]
    if environ.get("REMOTE_ADDR"):
        attributes["client.address"] = environ["REMOTE_ADDR"]
    return attributes


class _ServerRequest:
    """One request's span, in-flight count and timing; finished exactly once."""

    def __init__(self, client: Client, environ: dict) -> None:
        self.client = client
        self.method = _normalise_method(environ)
        self.started = time.perf_counter()
        self.status: int | None = None
        self.route = UNMATCHED_ROUTE
        self.exception: BaseException | None = None
        self.finished = False
        # Instruments first: if they fail, no span is left open.
        self.instruments: _Instruments | None = None
        if client.options.metrics:
            self.instruments = client.instruments("flask", _make_instruments)
        parent = propagate.extract(environ, getter=_GETTER)
        self.span = client.tracer.start_span(
            self.method if self.method != "_OTHER" else "HTTP",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_request_attributes(environ, self.method),
        )
        self.context = trace.set_span_in_context(self.span, parent)
        if self.instruments is not None:
            self.instruments.active.labels(self.method).inc()

    def start_response(self, start_response: Callable[..., Any]) -> Callable[..., Any]:
        """``start_response`` for the app, noting the status on the way through."""

        def noting_status(status: str, headers: list, exc_info: Any = None) -> Any:
            with capture_internal_exceptions(self.client.errors, "flask.start_response"):
                self.status = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return noting_status

    def finish(self, exc: BaseException | None = None) -> None:
        """End the span and record the metrics (later calls do nothing)."""
        if self.finished:
            return
        self.finished = True
        duration = time.perf_counter() - self.started
        exc = exc or self.exception
        status = self.status if self.status is not None else 500
        self._end_span(status, exc)
        if self.instruments is not None:
            self.instruments.active.labels(self.method).dec()
            series = self.instruments.duration.labels(self.method, self.route, str(status))
            series.observe(duration, exemplar=self._exemplar())

    def _end_span(self, status: int, exc: BaseException | None) -> None:
        span = self.span
        base = self.method if self.method != "_OTHER" else "HTTP"
        if self.route:
            span.update_name(f"{base} {self.route}")
            span.set_attribute("http.route", self.route)
        span.set_attribute("http.response.status_code", status)
        if exc is not None:
            span.record_exception(exc)
            span.set_attribute("error.type", type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        elif status >= 500:
            # 4xx stays UNSET: the client erred, not the server (semconv for server spans).
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    def _exemplar(self) -> dict[str, str] | None:
        found = self.span.get_span_context()
        if not (found.is_valid and found.trace_flags.sampled):
            return None  # an exemplar must point at a trace the backend will have
        return {"trace_id": f"{found.trace_id:032x}", "span_id": f"{found.span_id:016x}"}


class _ResponseBody:
    """The app's response iterable; the request finishes once it is exhausted or closed.

    Exhaustion counts too because test clients often read the body without closing it; the
    span is current again while each chunk is produced, so streamed views nest under it.
    """

    def __init__(self, body: Iterable[bytes], request: _ServerRequest) -> None:
        self._body = body
        self._chunks: Iterator[bytes] | None = None
        self._request = request

    def __iter__(self) -> _ResponseBody:
        return self

    def __next__(self) -> bytes:
        if self._chunks is None:
            self._chunks = iter(self._body)
        token = otel_context.attach(self._request.context)
        try:
            return next(self._chunks)
        except StopIteration:
            self._finish(None)
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        finally:
            otel_context.detach(token)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish(None)

    def _finish(self, exc: BaseException | None) -> None:
        with capture_internal_exceptions(self._request.client.errors, "flask.finish"):
            self._request.finish(exc)


class _Middleware:
    """Wraps one app's ``wsgi_app``; reads the client per request, so ``init()`` may come later."""

    def __init__(self, wsgi_app: Callable[..., Any], metrics_path: str | None) -> None:
        self.wsgi_app = wsgi_app
        self._metrics_path = metrics_path

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        client = get_client()
        # The scrape route is excluded: scrapes would otherwise dominate the request metrics.
        if not isinstance(client, Client) or environ.get("PATH_INFO") == self._metrics_path:
            return self.wsgi_app(environ, start_response)
        request: _ServerRequest | None = None
        with capture_internal_exceptions(client.errors, "flask.request_start"):
            request = _ServerRequest(client, environ)
            environ[_ENVIRON_KEY] = request
        if request is None:
            return self.wsgi_app(environ, start_response)
        token = otel_context.attach(request.context)
        try:
            body = self.wsgi_app(environ, request.start_response(start_response))
        except BaseException as exc:
            with capture_internal_exceptions(client.errors, "flask.finish"):
                request.finish(exc)
            raise
        finally:
            otel_context.detach(token)
        return _ResponseBody(body, request)


def _note_route_and_error(exc: BaseException | None) -> None:
    """``teardown_request``: hand the matched rule and any unhandled error to the middleware."""
    client = get_client()
    if not client.recording:
        return
    with capture_internal_exceptions(client.errors, "flask.teardown"):
        request = flask.request.environ.get(_ENVIRON_KEY)
        if request is None:
            return
        rule = flask.request.url_rule
        if rule is not None:
            request.route = rule.rule
        request.exception = exc


def _metrics_view() -> flask.Response:
    """Serve the client's registry; an empty exposition before ``sloscope.init()``."""
    client = get_client()
    with capture_internal_exceptions(client.errors, "flask.metrics"):
        registry = client.registry if isinstance(client, Client) else CollectorRegistry()
        body, content_type = metrics_response(registry, flask.request.headers.get("Accept"))
        return flask.Response(body, content_type=content_type)
    return flask.Response("sloscope: metrics unavailable\n", status=500, mimetype="text/plain")


def init_app(app: flask.Flask, *, metrics_path: str | None = "/metrics") -> None:
    """Instrument one Flask app: request metrics, a server span per request, ``/metrics``.

    Call it in the app factory, before or after ``sloscope.init()``; until ``init()`` the
    hooks pass requests straight through. Calling it again for the same app does nothing.

    >>> import flask, sloscope.flask
    >>> app = flask.Flask("shop")
    >>> sloscope.flask.init_app(app)
    >>> app.test_client().get("/metrics").status_code
    200

    :param app: the Flask application; its state goes into ``app.extensions["sloscope"]``.
    :param metrics_path: where to serve the metrics (never measured itself); None for no route.
    :raise ValueError: for a path not starting with ``/``, or when the app was already set up
        with another ``metrics_path``.
    """
    if metrics_path is not None and not metrics_path.startswith("/"):
        raise ValueError(f"metrics_path must start with '/', got {metrics_path!r}")
    existing = app.extensions.get(_EXTENSION_KEY)
    if existing is not None:
        if existing.metrics_path != metrics_path:
            raise ValueError(
                f"sloscope is already set up on {app.name!r} with metrics_path="
                f"{existing.metrics_path!r}; it cannot change to {metrics_path!r}"
            )
        return
    app.extensions[_EXTENSION_KEY] = _AppState(metrics_path=metrics_path)
    if metrics_path is not None:
        app.add_url_rule(
            metrics_path,
            endpoint="sloscope_metrics",
            view_func=_metrics_view,
            methods=["GET"],
        )
    app.teardown_request(_note_route_and_error)
    app.wsgi_app = _Middleware(app.wsgi_app, metrics_path)  # type: ignore[method-assign]
