"""The SDK's own health: internal errors and dropped items, by reason."""

from __future__ import annotations

__all__ = ["register_self_metrics"]


class _InternalErrorsCollector:
    def __init__(self, client) -> None:
        self._client = client

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(
            "sloscope_sdk_internal_errors",
            "Errors inside sloscope's hooks, swallowed so the app is not affected.",
            labels=["where"],
        )
        for where, count in sorted(self._client.errors.counts.items()):
            family.add_metric([where], count)
        yield family


def register_self_metrics(client) -> None:
    from prometheus_client import Counter

    client.registry.register(_InternalErrorsCollector(client))
    client.instruments(
        "sdk",
        lambda registry: {
            "dropped": Counter(
                "sloscope_sdk_dropped",
                "Items the SDK dropped (bounded buffers), by reason.",
                ["reason"],
                registry=registry,
            )
        },
    )
