"""The look every chart shares, and the escaping of text put into figures."""

from __future__ import annotations

from typing import Any

__all__ = ["COLORS", "ERROR_COLOR", "base_layout", "plot_text"]

#: Colour-blind-safe qualitative palette (Okabe-Ito without black), cycled over series.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
ERROR_COLOR = "#C62828"
THRESHOLD_COLOR = "#6B7280"


def plot_text(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` as entities: plotly.js shows them literally
    instead of reading them as its pseudo-HTML (``<b>``, ``<a href>``...).

    >>> plot_text('<script>alert(1)</script>')
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def base_layout(title: str = "", *, height: int = 320, y_title: str = "") -> dict[str, Any]:
    """A compact layout: small margins, legend below, hover for all series at one time."""
    return {
        "title": {"text": plot_text(title), "font": {"size": 14}, "x": 0, "xanchor": "left"},
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 36 if title else 12, "b": 40},
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "x unified",
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.18, "font": {"size": 11}},
        "xaxis": {"type": "date", "gridcolor": "#eef0f3", "linecolor": "#d1d5db"},
        "yaxis": {
            "title": {"text": plot_text(y_title)},
            "gridcolor": "#eef0f3",
            "zerolinecolor": "#d1d5db",
            "rangemode": "tozero",
        },
        "colorway": list(COLORS),
    }
