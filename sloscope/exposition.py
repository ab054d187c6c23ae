"""``/metrics`` bodies: Prometheus text, or OpenMetrics (with exemplars) when asked for."""

from __future__ import annotations

__all__ = ["metrics_response"]


def metrics_response(registry, accept_header: str | None) -> tuple[bytes, str]:
    """Body and content type for a scrape, negotiated from the ``Accept`` header as
    prometheus_client does (OpenMetrics only when the scraper asks for it)."""
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
