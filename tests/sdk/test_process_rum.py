"""Process metrics on the client's registry, and the RUM script tag."""

from __future__ import annotations

import sys

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from sloscope import rum
from sloscope.process_metrics import register_process_metrics
from tests.sdk.conftest import sample

# --- process metrics -----------------------------------------------------------------------


def test_process_metrics_are_on_the_clients_registry(client):
    register_process_metrics(client.registry)

    # Other tests' threads may come and go: only a lower bound is stable.
    assert sample(client, "python_threads") >= 1
    assert sample(client, "python_gc_objects_collected_total", {"generation": "0"}) >= 0
    assert sample(client, "python_gc_collections_total", {"generation": "2"}) >= 0
    version = sys.version_info
    info = {
        "implementation": "CPython",
        "major": str(version.major),
        "minor": str(version.minor),
        "patchlevel": str(version.micro),
        "version": f"{version.major}.{version.minor}.{version.micro}",
    }
    assert sample(client, "python_info", info) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read from /proc: Linux only")
def test_process_cpu_memory_and_fds_on_linux(client):
    register_process_metrics(client.registry)

    assert sample(client, "process_resident_memory_bytes") > 0
    assert sample(client, "process_cpu_seconds_total") > 0
    assert sample(client, "process_open_fds") >= 3  # stdin, stdout, stderr at least
    assert sample(client, "process_max_fds") >= sample(client, "process_open_fds")


@pytest.mark.parametrize("auto_describe", [False, True])
def test_registering_twice_adds_no_duplicate_series(auto_describe):
    registry = CollectorRegistry(auto_describe=auto_describe)
    register_process_metrics(registry)
    once = _sample_names(registry)

    register_process_metrics(registry)

    assert _sample_names(registry) == once
    assert once.count("python_threads") == 1


def test_a_registry_that_has_some_collectors_already_gets_the_rest():
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)

    register_process_metrics(registry)

    names = _sample_names(registry)
    assert names.count("process_cpu_seconds_total") == (1 if sys.platform == "linux" else 0)
    assert names.count("python_threads") == 1


def _sample_names(registry: CollectorRegistry) -> list[str]:
    text = generate_latest(registry).decode()
    return [line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"]


# --- RUM tag -------------------------------------------------------------------------------


def test_snippet_golden_with_defaults():
    assert rum.snippet(service="shop") == (
        '<script src="http://127.0.0.1:9900/rum/v1/sloscope-rum.js" defer'
        ' crossorigin="anonymous" data-service="shop" data-sample-rate="1.0"'
        ' data-beacon-url="http://127.0.0.1:9900/rum/v1/beacons"></script>'
    )


def test_snippet_golden_with_every_option():
    tag = rum.snippet(
        "https://rum.example.com/collector/",
        service="shop",
        app_key="pk_shop_1",
        page="/product/<id>",
        sample_rate=0.25,
        nonce="bm9uY2U=",
    )
    assert tag == (
        '<script src="https://rum.example.com/collector/rum/v1/sloscope-rum.js" defer'
        ' crossorigin="anonymous" nonce="bm9uY2U=" data-service="shop"'
        ' data-app-key="pk_shop_1" data-page="/product/&lt;id&gt;" data-sample-rate="0.25"'
        ' data-beacon-url="https://rum.example.com/collector/rum/v1/beacons"></script>'
    )


def test_snippet_escapes_every_value():
    tag = rum.snippet(
        "http://collector:9900/a&b",
        service='"><script>alert(1)</script>',
        app_key='k"><b>',
        page="/q?x='1'&y=2",
        nonce='n"onload="x',
    )
    assert tag.count("<script") == 1 and tag.count("</script>") == 1
    assert 'src="http://collector:9900/a&amp;b/rum/v1/sloscope-rum.js"' in tag
    assert 'data-service="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in tag
    assert 'data-app-key="k&quot;&gt;&lt;b&gt;"' in tag
    assert 'data-page="/q?x=&#x27;1&#x27;&amp;y=2"' in tag
    assert 'nonce="n&quot;onload=&quot;x"' in tag


@pytest.mark.parametrize(
    ("rate", "text"), [(0, "0.0"), (1, "1.0"), (0.5, "0.5"), (0.001, "0.001"), (1e-05, "1e-05")]
)
def test_snippet_writes_the_sample_rate_as_a_round_trip_float(rate, text):
    assert f'data-sample-rate="{text}"' in rum.snippet(service="shop", sample_rate=rate)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"collector_url": "ftp://collector"}, "must be an http:// or https:// URL"),
        ({"collector_url": "javascript:alert(1)"}, "must be an http:// or https:// URL"),
        ({"collector_url": "collector:9900"}, "must be an http:// or https:// URL"),
        ({"collector_url": "http://"}, "has no host"),
        ({"collector_url": "http://host:99999"}, "is not a valid URL"),
        ({"collector_url": "https://user:pw@host"}, "must not contain credentials"),
        ({"collector_url": "https://host/?a=1"}, "must not have a query or fragment"),
        ({"collector_url": "https://host/#top"}, "must not have a query or fragment"),
        ({"collector_url": None}, "collector_url must be a string"),
        ({"service": ""}, "service must be a non-empty string"),
        ({"service": "  "}, "service must be a non-empty string"),
        ({"page": ""}, "page must be a non-empty string or None"),
        ({"app_key": " "}, "app_key must be a non-empty string or None"),
        ({"app_key": 7}, "app_key must be a non-empty string or None"),
        ({"nonce": ""}, "nonce must be a non-empty string or None"),
        ({"sample_rate": 1.5}, "sample_rate must be between 0 and 1, got 1.5"),
        ({"sample_rate": -0.1}, "sample_rate must be between 0 and 1"),
        ({"sample_rate": float("nan")}, "sample_rate must be between 0 and 1"),
        ({"sample_rate": "0.5"}, "sample_rate must be a number, got str"),
        ({"sample_rate": True}, "sample_rate must be a number, got bool"),
    ],
)
def test_snippet_rejects_bad_input_with_a_clear_error(kwargs, message):
    arguments = {"service": "shop", **kwargs}
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        rum.snippet(**arguments)
