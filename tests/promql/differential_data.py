"""Scrape-shaped test data and the query list of ``test_differential.py``.

Eight hours of 15 s scrapes of a small shop: two services (checkout, catalog) with three API
instances each, and one gateway per service that measures request latency per route.

- Every target scrapes at its own offset (whole seconds plus 100..900 ms) with +-50 ms of
  jitter, so no sample ever lands on a whole second; query times, ranges, offsets, ``@`` times
  and subquery steps are whole seconds, so no sample sits on a window boundary.
- About 2 % of scrapes are missing (until a target first restarts, see ``_scrapes``);
  catalog-1 is down for 8 minutes (longer than the 5 m lookback) and restarts; targets
  restart now and then (counter resets).
- checkout-2 is scaled in at 3h08m (its series stop), catalog-2 is scaled out at 5h20m,
  checkout is deployed at 6h (``build_info`` changes version), and checkout has an incident
  from 4h40m to 5h25m: 5xx errors, a new ``code="503"`` series, slower requests, a fuller pool.
- ``cache_hit_ratio`` has a few NaN samples (no traffic to compute a ratio from), and
  ``node_filesystem_avail_bytes`` is a large gauge (~50 GiB) that slowly goes down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from string import Template

import numpy as np

from collector.model import Labels

SEED = 20_231_114
START_MS = 1_699_999_200_000  # 2023-11-14T22:00:00Z: the data crosses midnight (time functions)
HOURS = 8
SCRAPE_MS = 15_000
DAY_SCRAPES = 86_400_000 // SCRAPE_MS
Dataset = list[tuple[Labels, np.ndarray, np.ndarray]]  # series: labels, timestamps (ms), values
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, math.inf)
INCIDENT_S = (4 * 3600 + 40 * 60, 5 * 3600 + 25 * 60)  # checkout fails, after START
DEPLOY_S = 6 * 3600  # checkout 1.4.2 -> 1.5.0
ROUTES = {"checkout": {"/cart": 6.0, "/pay": 2.0}, "catalog": {"/items": 15.0, "/search": 4.5}}
MEDIAN_LATENCY = {"/cart": 0.06, "/pay": 0.18, "/items": 0.04, "/search": 0.12}
FAMILY_TYPES = {  # the others are gauges
    "http_requests": "counter",
    "process_cpu_seconds": "counter",
    "http_request_duration_seconds": "histogram",
}


@dataclass(frozen=True)
class Target:
    job: str
    instance: str
    service: str
    first_s: int = 0  # when the target appears, seconds after START
    last_s: int = HOURS * 3600  # when it is gone
    outage_s: tuple[int, int] | None = None  # no scrapes in this span; restarts after it


TARGETS = (
    Target("api", "checkout-0", "checkout"),
    Target("api", "checkout-1", "checkout"),
    Target("api", "checkout-2", "checkout", last_s=3 * 3600 + 8 * 60 + 20),
    Target("api", "catalog-0", "catalog"),
    Target("api", "catalog-1", "catalog", outage_s=(4 * 3600 + 10 * 60, 4 * 3600 + 18 * 60)),
    Target("api", "catalog-2", "catalog", first_s=5 * 3600 + 20 * 60),
    Target("gateway", "gw-checkout", "checkout"),
    Target("gateway", "gw-catalog", "catalog"),
)


@dataclass
class _Scrapes:
    """One target's scrape grid: ``t`` (seconds after START), ``ts`` (ms) and what was kept."""

    t: np.ndarray
    ts: np.ndarray
    keep: np.ndarray
    restarts: list[int]

    def counter(self, increments: np.ndarray, initial=0.0, start: int = 0) -> np.ndarray:
        """Cumulative sums over the grid: ``initial`` at ``start``, 0 at each later restart."""
        total = np.cumsum(increments, axis=0).astype(float)
        total += initial - total[start]
        for at in self.restarts:
            if at > start:
                total[at:] -= total[at].copy()
        return total


def _scrapes(rng: np.random.Generator, target: Target) -> _Scrapes:
    offset_ms = int(rng.integers(0, 15)) * 1000 + int(rng.integers(100, 901))
    n = (target.last_s - target.first_s) * 1000 // SCRAPE_MS
    grid = target.first_s * 1000 + offset_ms + np.arange(n, dtype=np.int64) * SCRAPE_MS
    ts = START_MS + grid + rng.integers(-50, 51, n)
    assert (ts % 1000 != 0).all(), "a sample on a whole second could sit on a window boundary"
    keep = rng.random(n) > 0.02
    t = grid / 1000
    down = np.zeros(n, dtype=bool)
    if target.outage_s is not None:
        down = (t >= target.outage_s[0]) & (t < target.outage_s[1])
    # rate() extrapolates towards a counter's zero point differently in 2.42 and 3.x (see
    # test_differential.py) when a window's first sample comes late (a missed scrape) and is
    # small. So counters of running processes start large, and no scrape is missed once a
    # counter (re)started from 0: after the first restart, the incident or the target's start.
    restarts = [int(i) for i in rng.integers(n // 2, n, int(rng.integers(1, 3)))]
    if target.outage_s is not None:
        restarts.append(int(np.argmax(t >= target.outage_s[1])))
    fresh = [*restarts, n] if target.first_s == 0 else [0]
    if target.service == "checkout" and target.job == "api":
        fresh.append(int(np.argmax(t >= INCIDENT_S[0])))  # the 503 counters begin
    keep[min(fresh) :] = True
    keep &= ~down
    return _Scrapes(t, ts, keep, sorted(set(restarts)))


def _diurnal(t: np.ndarray) -> np.ndarray:
    return 1.0 + 0.3 * np.sin(2 * np.pi * t / (HOURS * 3600))


def _in_incident(t: np.ndarray, service: str) -> np.ndarray:
    hit = (t >= INCIDENT_S[0]) & (t < INCIDENT_S[1])
    return hit if service == "checkout" else np.zeros_like(hit)


def _api_series(rng, target: Target, s: _Scrapes):
    base = {"job": target.job, "instance": target.instance, "service": target.service}
    incident = _in_incident(s.t, target.service)
    for route, rate in ROUTES[target.service].items():
        lam = rate / 3 * _diurnal(s.t) * SCRAPE_MS / 1000
        shares = {
            "200": 0.97 - np.where(incident, 0.08, 0.0005),
            "404": np.full(len(s.t), 0.03),
            "500": np.where(incident, 0.06, 0.0005),
            "503": np.where(incident, 0.02, 0.0),  # a series that appears, then stops
        }
        for code, share in shares.items():
            keep = s.keep & incident if code == "503" else s.keep
            if keep.any():
                start = int(np.argmax(keep))
                running = target.first_s == 0 and code != "503"  # for a day already
                initial = (
                    1000 + rng.poisson(lam[start] * share[start] * DAY_SCRAPES) if running else 0
                )
                values = s.counter(rng.poisson(lam * share), initial, start)
                labels = {"__name__": "http_requests_total", **base, "route": route, "code": code}
                yield Labels.of(labels), s.ts[keep], values[keep]
    keep, running = s.keep, target.first_s == 0
    cpu = s.counter(rng.gamma(2.0, 0.02 * (1 + 2 * incident)), DAY_SCRAPES * 0.04 * running)
    yield Labels.of({"__name__": "process_cpu_seconds_total", **base}), s.ts[keep], cpu[keep]
    pages = int(rng.integers(25_000, 60_000)) + np.cumsum(rng.integers(-40, 41, len(s.t)))
    for at in s.restarts:
        pages[at:] -= pages[at] - pages[0]
    memory = pages * 4096.0
    yield Labels.of({"__name__": "process_resident_memory_bytes", **base}), s.ts[keep], memory[keep]
    pool = np.clip(rng.poisson(np.where(incident, 11.0, 4.0)), 0, 20).astype(float)
    yield Labels.of({"__name__": "db_pool_connections_in_use", **base}), s.ts[keep], pool[keep]
    yield from _build_info(base, s)


def _build_info(base: dict[str, str], s: _Scrapes):
    versions = {"checkout": ("1.4.2", "1.5.0"), "catalog": ("2.0.1", "2.0.1")}[base["service"]]
    deployed = (s.t >= DEPLOY_S)[s.keep]
    for version, mask in ((versions[0], ~deployed), (versions[1], deployed)):
        if mask.any():
            labels = Labels.of({"__name__": "build_info", **base, "version": version})
            yield labels, s.ts[s.keep][mask], np.ones(int(mask.sum()))


def _gateway_series(rng, target: Target, s: _Scrapes):
    base = {"job": target.job, "instance": target.instance, "service": target.service}
    incident = _in_incident(s.t, target.service)
    edges = np.array(BUCKETS)
    for route, rate in ROUTES[target.service].items():
        requests = rng.poisson(rate * _diurnal(s.t) * SCRAPE_MS / 1000)
        median = MEDIAN_LATENCY[route] * np.where(incident, 4.0, 1.0)
        z = np.log(edges[None, :] / median[:, None]) / (0.7 * math.sqrt(2))
        cdf = 0.5 * (1 + np.vectorize(math.erf)(z))
        probs = np.diff(np.concatenate((np.zeros((len(s.t), 1)), cdf), axis=1), axis=1)
        per_bucket = rng.multinomial(requests, probs / probs.sum(axis=1, keepdims=True))
        day = 1000 + np.cumsum(rng.multinomial(int(rate * 15 * DAY_SCRAPES), probs[0]))
        cumulative = s.counter(np.cumsum(per_bucket, axis=1), day)[s.keep]
        mean = median * math.exp(0.245)
        spent = s.counter(requests * mean * rng.uniform(0.9, 1.1, len(s.t)), day[-1] * mean[0])
        name = "http_request_duration_seconds"
        ts = s.ts[s.keep]
        for i, le in enumerate(BUCKETS):
            le_text = "+Inf" if math.isinf(le) else repr(le)
            labels = {"__name__": f"{name}_bucket", **base, "route": route, "le": le_text}
            yield Labels.of(labels), ts, cumulative[:, i]
        count = Labels.of({"__name__": f"{name}_count", **base, "route": route})
        yield count, ts, cumulative[:, -1]
        yield Labels.of({"__name__": f"{name}_sum", **base, "route": route}), ts, spent[s.keep]
    ratio = np.clip(0.85 + 0.1 * np.sin(s.t / 1800) + rng.normal(0, 0.02, len(s.t)), 0, 1)
    ratio[rng.integers(0, len(s.t), 4)] = np.nan
    ratio[len(s.t) // 2 : len(s.t) // 2 + 4] = np.nan
    yield Labels.of({"__name__": "cache_hit_ratio", **base}), s.ts[s.keep], ratio[s.keep]
    used = np.cumsum(rng.integers(0, 3 * 4096, len(s.t)) // 4096 * 4096)  # logs fill the disk
    avail = (int(rng.integers(40, 60)) << 30) - used
    labels = Labels.of({"__name__": "node_filesystem_avail_bytes", **base, "mountpoint": "/"})
    yield labels, s.ts[s.keep], avail[s.keep].astype(float)


def generate(seed: int = SEED) -> Dataset:
    """The dataset for ``seed``: about 100 series, 15 s apart, over eight hours."""
    rng = np.random.default_rng(seed)
    data: Dataset = []
    for target in TARGETS:
        scrapes = _scrapes(rng, target)
        make = _api_series if target.job == "api" else _gateway_series
        for labels, ts, values in make(rng, target, scrapes):
            data.append((labels, ts, np.asarray(values, dtype=np.float64)))
    return data


def _family(metric: str) -> str:
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        if metric.endswith(suffix) and metric[: -len(suffix)] in FAMILY_TYPES:
            return metric[: -len(suffix)]
    return metric


def _format_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    return str(int(v)) if v.is_integer() else repr(v)


def openmetrics(data: Dataset) -> str:
    """The dataset as one OpenMetrics text: families contiguous, timestamps in seconds (ms)."""
    families: dict[str, list[tuple[Labels, np.ndarray, np.ndarray]]] = {}
    for labels, ts, values in data:
        families.setdefault(_family(labels.metric_name), []).append((labels, ts, values))
    out = []
    for family, members in families.items():
        out.append(f"# TYPE {family} {FAMILY_TYPES.get(family, 'gauge')}\n")
        for labels, ts, values in members:
            pairs = ",".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
            prefix = f"{labels.metric_name}{{{pairs}}}"
            for t, v in zip(ts.tolist(), values.tolist(), strict=True):
                out.append(f"{prefix} {_format_value(v)} {t // 1000}.{t % 1000:03d}\n")
    out.append("# EOF\n")
    return "".join(out)


# --- queries -------------------------------------------------------------------------------

START_S = START_MS // 1000
#: Instant query times: whole seconds at :07, never aligned with a subquery step. Quiet
#: traffic; 1m47s after checkout-2 stopped (inside the lookback); the incident; the end.
INSTANT_TIMES_S = tuple(START_S + t for t in (5_407, 11_407, 17_887, 28_747))
#: Range queries: (start, end, step) in seconds; every range case runs both.
RANGES_S = ((START_S + 7_207, START_S + 25_207, 60), (START_S + 1_807, START_S + 28_807, 300))
AT_S = START_S + 17_423  # for ``@``: inside the incident
NAMES = {
    "REQ": "http_requests_total",
    "ERR": 'http_requests_total{code=~"5.."}',
    "HIST": "http_request_duration_seconds",
    "MEM": "process_resident_memory_bytes",
    "POOL": "db_pool_connections_in_use",
    "CPU": "process_cpu_seconds_total",
    "FS": "node_filesystem_avail_bytes",
    "AT": str(AT_S),
}

#: Hand-written queries, separated by newlines or " ;; " (an indented line continues the one
#: before), ``$NAME`` from NAMES; "instant " marks a range vector or a string (no range query).
LISTED = r"""
sum(rate($ERR[5m])) / sum(rate($REQ[5m]))
1 - (sum by (service) (rate($REQ{code!~"5.."}[5m])) / sum by (service) (rate($REQ[5m])))
sum by (service) (rate(${HIST}_bucket{le="0.25"}[5m])) / sum by (service) (rate(${HIST}_count[5m]))
sum by (route) (rate(${HIST}_sum[5m])) / sum by (route) (rate(${HIST}_count[5m]))
histogram_quantile(0.95, sum by (le, route) (rate(${HIST}_bucket[1h])))
histogram_quantile(0.95, rate(${HIST}_bucket[5m])) ;; histogram_quantile(0.9, ${HIST}_bucket)
histogram_quantile(0.95, sum by (le, route) (rate(${HIST}_bucket[5m]))) > 0.25
topk(3, rate($CPU[5m])) ;; topk by (service) (1, $MEM) ;; bottomk(2, $MEM)
bottomk without (instance) (1, rate($CPU[5m])) ;; quantile(0.9, rate($REQ[5m]))
quantile by (route) (0.5, rate($REQ[5m])) ;; quantile without (instance) (0.25, $POOL)
count_values("connections", $POOL) ;; count_values by (service) ("connections", $POOL)
count by (code) ($REQ) ;; sum($REQ) by (service) ;; sum without (instance) ($MEM)
count by (__name__) ({job="api"}) ;; count(count by (instance) ($REQ))
max without (le) (${HIST}_bucket) ;; sum by (version) (build_info)
rate($REQ[5m]) / on (service, instance) group_left sum by (service, instance) (rate($REQ[5m]))
sum by (service, route, code) (rate($REQ[5m]))
  / ignoring (code) group_left sum by (service, route) (rate($REQ[5m]))
rate($REQ{code="500"}[5m]) / ignoring (code) rate($REQ{code="200"}[5m])
$MEM * on (instance) group_left (version) build_info
$MEM * on (instance) group_left (version) (topk by (instance) (1, timestamp(build_info)) > bool 0)
build_info * on (instance) group_right $POOL
rate($REQ[5m]) > on (instance, route, code) rate($REQ[5m] offset 1h)
$MEM - $MEM offset 30m ;; -$MEM ;; -rate($CPU[5m]) ;; 0 / ($POOL - $POOL) ;; time() - 3600
$POOL > $POOL offset 5m ;; $POOL == bool on (instance) $POOL offset 15m
rate($REQ[5m]) > 2 or rate($REQ[5m]) < 0.01
$REQ and on (instance) $REQ{code="503"} ;; $MEM unless on (instance) $POOL > 8
$REQ{code="200"} and ignoring (code) $REQ{code="500"} > 10
max(cache_hit_ratio) ;; min by (service) (cache_hit_ratio) ;; quantile(0.5, cache_hit_ratio)
sum(cache_hit_ratio) ;; avg(cache_hit_ratio) ;; stddev(cache_hit_ratio) ;; cache_hit_ratio > 0.5
changes(cache_hit_ratio[10m]) ;; resets(cache_hit_ratio[10m]) ;; deriv(cache_hit_ratio[5m])
count(cache_hit_ratio != cache_hit_ratio) ;; timestamp($MEM offset 5m) ;; timestamp($MEM @ $AT)
quantile(2, rate($REQ[5m])) ;; topk(0, $MEM) ;; histogram_quantile(0.5, ${HIST}_bucket{le="+Inf"})
predict_linear($REQ{code="503"}[15m], 300) ;; max_over_time(timestamp($REQ{code="503"})[1h:1m])
label_replace(rate($REQ[5m]), "__name__", "renamed", "code", "(.*)") ;; $POOL % 0 ;; sqrt(-$POOL)
build_info unless build_info offset 10m ;; $POOL or $MEM
sum by (service) (rate($REQ[5m])) and on (service) sum by (service) ($POOL) > 15
rate($REQ[5m] offset 1h) ;; sum by (service) (rate($REQ[5m] offset 30m))
$MEM offset 10m ;; $MEM offset -10m ;; $MEM @ $AT ;; $MEM @ start()
rate($REQ[5m] @ $AT) ;; max_over_time($MEM[10m] @ end()) ;; rate($REQ[5m] @ $AT offset 10m)
sum by (service) (rate($ERR[5m] @ $AT)) / sum by (service) (rate($REQ[5m] @ $AT))
max_over_time(rate($REQ[5m])[30m:1m]) ;; max_over_time(rate($REQ[5m])[30m:1m] offset 10m)
avg_over_time(sum by (service) (rate($REQ[5m]))[1h:5m])
min_over_time((sum by (service) (rate($ERR[5m])) / sum by (service) (rate($REQ[5m])))[1h:30s])
max_over_time(deriv($MEM[5m])[30m:]) ;; quantile_over_time(0.9, rate($REQ[1m])[30m:1m])
increase(sum by (service) ($REQ)[10m:1m]) ;; sum_over_time(count($REQ)[10m:1m])
last_over_time(sum($REQ)[5m:30s] @ $AT) ;; max_over_time(avg_over_time($MEM[5m])[20m:1m])
count_over_time($REQ[10m:15s])
absent(nonexistent_metric) ;; absent($REQ{service="nope", code="500"}) ;; absent($REQ)
absent_over_time(nonexistent_metric[5m]) ;; absent_over_time($MEM{instance="checkout-2"}[10m])
absent(sum($REQ))
label_replace($REQ, "svc", "$1", "service", "(.*)out")
label_replace($REQ, "route_id", "$1", "route", "/(.*)")
label_replace($MEM, "instance", "$1:9100", "instance", "(.+)")
label_replace($MEM, "nothing", "x", "service", "nomatch")
label_replace(build_info, "major", "${1}-x", "version", "([0-9]+)\\..*")
label_join($REQ, "key", ":", "service", "route", "code") ;; label_join($MEM, "job", "", "service")
clamp(rate($REQ[5m]), 0.5, 2) ;; clamp_min(rate($REQ[5m]), 1) ;; clamp_max(rate($REQ[5m]), 1)
round(rate($REQ[5m])) ;; round(rate($REQ[5m]), 0.1) ;; round($MEM / 1e6, 5)
ln($MEM) ;; exp($POOL) ;; pi() ;; time() ;; timestamp($MEM) ;; time() - timestamp($POOL)
hour(timestamp($MEM)) ;; day_of_week(timestamp($MEM) - 7200)
scalar(sum(rate($REQ[5m]))) ;; scalar($MEM) ;; $MEM / scalar(sum($MEM{service="catalog"}))
vector(1) ;; vector(time()) ;; sort(rate($CPU[5m])) ;; sort_desc($MEM)
$REQ ;; {__name__=~"process_.*"} ;; $REQ{code!="200", route=~"/(pay|cart)"} ;; {job="gateway"}
${HIST}_bucket{le=~"0.1|0.25", service!~"cat.*"} ;; 42 ;; -1.5e3
instant "a string" ;; instant $MEM{instance="checkout-0"}[2m] ;; instant cache_hit_ratio[3m]
instant $REQ{route="/pay",code="200"}[1m] offset 1h ;; instant rate($REQ[5m])[10m:1m]
instant ${HIST}_bucket{route="/cart"}[30s] @ $AT
"""


def _ratio(window: str) -> str:
    err, req = NAMES["ERR"], NAMES["REQ"]
    return f"sum by (service) (rate({err}[{window}])) / sum by (service) (rate({req}[{window}]))"


def _generated() -> list[str]:
    """Metric x function x window, SLO burn rates and alerts, aggregations, quantiles."""
    out = []
    counters = ('$REQ{route="/pay"}', "$CPU", "${HIST}_sum")
    for fn in ("rate", "irate", "increase", "resets", "changes", "delta", "idelta", "deriv"):
        out += [f"{fn}({metric}[{w}])" for metric in counters for w in ("1m", "5m", "1h")]
    over_time = ["avg", "min", "max", "sum", "count", "last", "stddev", "stdvar", "present"]
    for metric in ("$MEM", "$POOL", "cache_hit_ratio"):
        for w in ("5m", "1h"):
            out += [f"{fn}_over_time({metric}[{w}])" for fn in over_time]
            out += [f"quantile_over_time({q}, {metric}[{w}])" for q in ("0", "0.5", "0.99")]
    out += ["predict_linear($MEM[30m], 3600)", "predict_linear($POOL[1h], 600)"]
    out += ["deriv($MEM[10m])", "deriv($MEM[1h])", "predict_linear($MEM[1h], 600)"]
    out += ["delta($POOL[10m])", "idelta($MEM[2m])"]
    for w, ahead in (("5m", "3600"), ("1h", "4 * 3600"), ("6h", "86400")):
        out += [f"deriv($FS[{w}])", f"predict_linear($FS[{w}], {ahead}) < 5e10"]
    for w in ("5m", "30m", "1h", "6h"):
        out += [_ratio(w), f"({_ratio(w)}) / 0.001"]
    alerts = [
        f"(({_ratio(long)}) > ({factor} * 0.001)) and (({_ratio(short)}) > ({factor} * 0.001))"
        for long, short, factor in (("1h", "5m", "14.4"), ("6h", "30m", "6"))
    ]
    out += [*alerts, f"({alerts[0]}) or ({alerts[1]})", f"1 - ({_ratio('6h')}) / (1 - 0.999)"]
    for by in ("le", "le, route", "le, service"):
        qs = ("0.5", "0.9", "0.95", "0.99")
        out += [f"histogram_quantile({q}, sum by ({by}) (rate(${{HIST}}_bucket[5m])))" for q in qs]
    out += [f"histogram_quantile({q}, sum by (le) (rate(${{HIST}}_bucket[5m])))" for q in "01"]
    out += [
        f"histogram_quantile({q}, sum by (le) (rate(${{HIST}}_bucket[5m])))"
        for q in ("1.5", "-0.5")
    ]
    for agg in ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"):
        for mod in ("", " by (service)", " without (instance, code)", " by (service, route)"):
            out.append(f"{agg}{mod} (rate($REQ[5m]))")
    for i, op in enumerate(("==", "!=", ">", "<", ">=", "<=")):
        out += [f"$POOL {op} {i + 2}", f"$POOL {op} bool {i + 2}", f"{i + 2} {op} $POOL"]
        out += [f"rate($REQ[5m]) {op} bool 1", f"{i} {op} bool 3"]
    for op in ("+", "-", "*", "/", "%", "^", "atan2"):
        pool = "$POOL" if op != "atan2" else "($POOL * 1)"  # 2.42's atan2 keeps __name__
        out += [f"{pool} {op} 3", f"3 {op} {pool}", f"7 {op} 2", f"rate($CPU[5m]) {op} 0.5"]
        out.append(f"{pool} {op} on (instance) group_left rate($CPU[5m])")
    for fn in ("abs", "ceil", "floor", "sqrt", "exp", "ln", "log2", "log10", "sgn"):
        out.append(f"{fn}(delta($POOL[10m]))")
    for fn in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"):
        out.append(f"{fn}(cache_hit_ratio)")
    out += [f"{fn}($POOL)" for fn in ("asinh", "acosh", "atanh", "deg", "rad")]
    for fn in ("hour", "minute", "month", "year", "day_of_month", "day_of_week", "day_of_year"):
        out.append(f"{fn}()")
    out.append("days_in_month()")
    return out


def queries() -> list[tuple[str, bool]]:
    """(query, instant_only) pairs: every query runs at all instant times, and those not
    instant-only as range queries too."""
    out = [(q, False) for q in _generated()]
    for line in LISTED.strip().replace("\n  ", " ").splitlines():
        for query in line.split(" ;; "):
            out.append((query.removeprefix("instant "), query.startswith("instant ")))
    return [(Template(q).safe_substitute(NAMES), only) for q, only in out]
