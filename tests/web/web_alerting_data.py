"""A server app with a rule manager, a notifier and its outbox over the seeded store, for
the Alerts and Rules pages: alerts firing, pending, inhibited, one whose runbook link is a
script, a failing recording rule, and a delivery that failed because its webhook refuses.

With ``queue_depth`` at ``NOW_MS`` 0, 10 and 20 for the queues ``XSS_SCRIPT``, ``XSS_IMG``
and ``XSS_LINK`` (see :mod:`web_testdata`):

- ``HighQueue`` (``> 5``, severity page) fires for ``XSS_IMG`` and ``XSS_LINK``;
- ``QueueBacklog`` (``> 15``, severity ticket) fires for ``XSS_LINK``, inhibited by
  ``HighQueue`` of the same queue;
- ``QueueNotEmpty`` (``> 0`` for 1h) is pending for the same two queues;
- ``bad:dup`` fails (``label_replace`` makes duplicate series), ``job:queue:sum`` is fine.
"""

from __future__ import annotations

import socket
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from web_testdata import NOW_MS

from slo.notify.config_loader import parse_config
from slo.notify.notifier import Notifier
from slo.notify.outbox import Outbox
from slo.rules.alert_notify import notify_alert
from slo.rules.loader import parse_rule_text
from slo.rules.manager import RuleManager
from sloscope.server.run import create_http_app
from web import Sources, register_web
from web.settings import WebSettings

EXTERNAL_URL = "http://sloscope.test:9900"
RUNBOOK = "https://runbooks.example/high-queue"
BAD_RUNBOOK = "javascript:window.__xss=4"

RULES = textwrap.dedent(
    f"""
    groups:
      - name: queues
        interval: 1m
        rules:
          - alert: HighQueue
            expr: queue_depth > 5
            labels: {{severity: page}}
            annotations:
              summary: "Queue {{{{ $labels.queue }}}} is deep"
              description: "{{{{ $value }}}} items waiting"
              runbook_url: {RUNBOOK}
          - alert: QueueBacklog
            expr: queue_depth > 15
            labels: {{severity: ticket}}
          - alert: QueueNotEmpty
            expr: queue_depth > 0
            for: 1h
            annotations:
              runbook_url: "{BAD_RUNBOOK}"
      - name: recordings
        interval: 1m
        rules:
          - record: job:queue:sum
            expr: sum by (job) (queue_depth)
          - record: bad:dup
            expr: label_replace(queue_depth, "queue", "same", "", "")
    """
)


def refused_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def notify_yaml(url: str) -> str:
    return textwrap.dedent(
        f"""
        route:
          receiver: team
          group_by: [alertname, queue]
          group_wait: 0s
          group_interval: 1m
          repeat_interval: 1m
        receivers:
          - name: team
            webhook_configs: [{{url: "{url}"}}]
        inhibit_rules:
          - source_matchers: [severity="page"]
            target_matchers: [severity="ticket"]
            equal: [queue]
        """
    )


@dataclass
class Alerting:
    manager: RuleManager
    notifier: Notifier
    outbox: Outbox


def build_alerting(store) -> Alerting:
    """Rules evaluated at ``NOW_MS``, their alerts in the notifier, notifications flushed
    and one delivery attempt made (refused) at ``NOW_MS``."""
    groups, errors = parse_rule_text(RULES, "queues.yml")
    assert errors == []
    config = parse_config(notify_yaml(refused_url()))
    outbox = Outbox(store.engine, {r.name: r for r in config.receivers}, external_url=EXTERNAL_URL)
    notifier = Notifier(config, store.engine, outbox.enqueue, external_url=EXTERNAL_URL)

    def notify(alerts, ts_ms: int) -> None:
        assert notifier.receive([notify_alert(a, EXTERNAL_URL) for a in alerts], ts_ms) == []

    manager = RuleManager(
        groups,
        querier=store,
        appender=store,
        interval_ms=60_000,
        notify=notify,
        external_url=EXTERNAL_URL,
    )
    manager.eval_due(NOW_MS - 180_000)  # schedules the first slots
    manager.restore(NOW_MS - 180_000)  # a fresh start: nothing to restore, ALERTS written
    manager.eval_due(NOW_MS - 60_000)
    manager.eval_due(NOW_MS)
    notifier.tick(NOW_MS)
    outbox.deliver_due(NOW_MS)
    return Alerting(manager, notifier, outbox)


def alerting_app(seeded, users, alerting: Alerting | None, *, auth: bool = True):
    """The full server app with the dashboard reading ``alerting``'s parts."""
    app = create_http_app(seeded.store, seeded.collector)
    app.config["TESTING"] = True
    sources = Sources(
        seeded.store,
        span_store=seeded.collector.span_store,
        rule_manager=None if alerting is None else alerting.manager,
        notifier=None if alerting is None else alerting.notifier,
        outbox=None if alerting is None else alerting.outbox,
    )
    settings = WebSettings(auth_enabled=auth, users=users, secret_key="alerting-secret-" * 2)
    register_web(app, sources, settings, clock=lambda: NOW_MS)
    return app


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` on a free loopback port; yields its base URL."""
    from werkzeug.serving import make_server

    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join()
