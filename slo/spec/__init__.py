"""SLO specs: native YAML, OpenSLO v1 and Sloth ``prometheus/v1`` read into one model.

>>> from slo.spec import load_slo_files, sli_queries
>>> slos, errors = load_slo_files(["examples/slo/shop-native.yml"])  # doctest: +SKIP
>>> for error in errors:  # doctest: +SKIP
...     print(error)  # file:line:col: path.to.key: what was expected
"""

from slo.spec.errors import SpecError
from slo.spec.latency_buckets import check_latency_buckets
from slo.spec.loader import load_slo_files, load_slo_texts
from slo.spec.sli_queries import sli_queries

__all__ = [
    "SpecError",
    "check_latency_buckets",
    "load_slo_files",
    "load_slo_texts",
    "sli_queries",
]
