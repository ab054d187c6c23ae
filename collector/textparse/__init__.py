"""A strict, fast parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text.

Pure code: it consumes an iterable of lines (each with or without its trailing ``\\n``) and
yields a :class:`MetricFamily` once a family's metadata is complete (or its first sample
arrives), then each :class:`TextSample`. The first error raises :class:`TextParseError`.

>>> text = '# TYPE req counter\\nreq_total{code="200"} 3 1700000000.123\\n# EOF\\n'
>>> for item in parse(text.split("\\n"), TextFormat.OPENMETRICS):
...     print(item)
MetricFamily(name='req', type=<MetricType.COUNTER: 'counter'>, help=None, unit=None)
TextSample(name='req_total', labels=(('code', '200'),), value=3.0, timestamp_ms=1700000000123, \
line=2, exemplar=None)

Read files with ``open(path, encoding="utf-8", newline="\\n")`` so that only ``\\n`` ends a
line (OpenMetrics forbids ``\\r``, and a stray one must be reported, not swallowed).

Where Prometheus is laxer than the specs, this parser follows the specs (see the tests): in
OpenMetrics a family's lines are contiguous, counters are ``_total``/``_created``, label sets
have no trailing comma or blanks, metadata comes once and before the samples, buckets need a
numeric ``le`` (summaries a ``quantile``), exemplars sit only on counter totals and buckets,
and a series' timestamps never go backwards. OpenMetrics timestamps (seconds) become
milliseconds exactly as Prometheus converts them, ``int64(seconds * 1000)``: the float64
product truncated toward zero. The Prometheus format keeps its leniencies: blank lines,
free comments, any run of blanks between tokens, and families that resume later.
"""

from collector.textparse.parser import parse
from collector.textparse.types import (
    Exemplar,
    MetricFamily,
    MetricType,
    TextFormat,
    TextParseError,
    TextSample,
)

__all__ = [
    "Exemplar",
    "MetricFamily",
    "MetricType",
    "TextFormat",
    "TextParseError",
    "TextSample",
    "parse",
]

# The public names keep the module path they had before the split, so reprs, tracebacks and
# pickles say ``collector.textparse.TextSample``, not where the code happens to live.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
