"""The SDK's one global: the client that ``init()`` sets, a no-op one before that."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sloscope._internal_errors import InternalErrors
from sloscope._options import Options, build_options

__all__ = ["Client", "NonRecordingClient", "get_client", "init", "shutdown"]

log = logging.getLogger("sloscope")
T = TypeVar("T")


class Client:
    """Holds the metrics registry, the tracer and the integrations' instruments."""

    recording = True

    def __init__(self, options: Options) -> None:
        from prometheus_client import CollectorRegistry

        self.options = options
        self.registry = options.registry or CollectorRegistry(auto_describe=True)
        self.errors = InternalErrors(options.raise_internal_errors)
        self._instruments: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.tracer_provider = None
        self.tracer = _noop_tracer()

    def start(self) -> None:
        """Create the tracing pipeline (its export thread starts here, not at import)."""
        from sloscope._self_metrics import register_self_metrics
        from sloscope.process_metrics import register_process_metrics

        register_self_metrics(self)
        if self.options.metrics:
            register_process_metrics(self.registry)
        if self.options.traces:
            from sloscope._tracing import build_tracer_provider

            self.tracer_provider = build_tracer_provider(self.options)
            self.tracer = self.tracer_provider.get_tracer("sloscope")

    def instruments(self, key: str, factory: Callable[[Any], T]) -> T:
        """The instruments of one integration, created once per client on its registry."""
        with self._lock:
            found = self._instruments.get(key)
            if found is None:
                found = self._instruments[key] = factory(self.registry)
            return found

    def flush(self, timeout_s: float = 5.0) -> bool:
        if self.tracer_provider is None:
            return True
        return bool(self.tracer_provider.force_flush(int(timeout_s * 1000)))

    def close(self, timeout_s: float = 5.0) -> None:
        if self.tracer_provider is not None:
            self.flush(timeout_s)
            self.tracer_provider.shutdown()


class NonRecordingClient:
    """What ``get_client()`` returns before ``init()``: every hook passes straight through."""

    recording = False
    options = Options()
    tracer = None
    errors = None

    def __init__(self) -> None:
        self.tracer = _noop_tracer()

    def flush(self, timeout_s: float = 5.0) -> bool:
        return True


def _noop_tracer():
    from opentelemetry.trace import NoOpTracer

    return NoOpTracer()


_client: Client | NonRecordingClient | None = None
_client_lock = threading.Lock()


def get_client() -> Client | NonRecordingClient:
    """The client ``init()`` made, or a non-recording one."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = NonRecordingClient()
    return _client


def init(**kwargs: Any) -> Client:
    """Start sloscope in this process; later calls return the same client.

    >>> import sloscope
    >>> client = sloscope.init(service_name="shop", traces=False)
    >>> sloscope.init(service_name="shop") is client
    True
    >>> sloscope.shutdown()

    :raise TypeError: for an unknown option.
    """
    global _client
    options = build_options(kwargs)
    with _client_lock:
        if isinstance(_client, Client):
            if _client.options.service_name != options.service_name:
                log.warning("sloscope.init() called again with other options: ignored")
            return _client
        client = Client(options)
        client.start()
        _client = client
        return client


def shutdown(timeout_s: float = 5.0) -> None:
    """Flush spans (within ``timeout_s``) and return to the non-recording client."""
    global _client
    with _client_lock:
        client, _client = _client, NonRecordingClient()
    if isinstance(client, Client):
        client.close(timeout_s)
