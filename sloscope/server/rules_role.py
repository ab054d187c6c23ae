"""The rules role: rule files and compiled SLOs evaluated by a rule manager, alerts routed by
the notifier into the durable outbox, and pushed to real Alertmanagers when configured.

Everything is built (and every file checked) before any thread starts, so a bad rule file,
SLO spec or notifier config stops ``sloscope server`` at start with every problem listed.
"""

from __future__ import annotations

import glob
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sloscope.server.config import Config
from sloscope.server.settings import CommandError

__all__ = [
    "RulesParts",
    "build_rules",
    "external_url_of",
    "load_rule_groups",
    "register_rules_api",
]

log = logging.getLogger("sloscope.rules")
_ALERTMANAGER_TIMEOUT_S = 10.0


def _expand(patterns, what: str) -> list[str]:
    """Paths of the patterns in order, each once; a pattern matching nothing is an error
    (a typo would otherwise silently evaluate no rules)."""
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not found:
            raise CommandError(f"{what}: {pattern!r} matches no file")
        paths += [p for p in found if p not in paths]
    return paths


def load_rule_groups(config: Config) -> tuple[list, list]:
    """Groups of ``rules.files`` and of the SLOs of ``slo.files``, and those SLOs;
    CommandError listing every problem of every file."""
    from slo.compile import CompileError, compile_slos
    from slo.rules.loader import load_rule_files
    from slo.spec.loader import load_slo_files

    groups, rule_errors = load_rule_files(_expand(config.rules.files, "rules.files"))
    slos, spec_errors = load_slo_files(_expand(config.slo.files, "slo.files"))
    problems = [str(e) for e in rule_errors] + [str(e) for e in spec_errors]
    if not problems:
        try:
            groups += compile_slos(slos)
        except CompileError as exc:
            problems.append(str(exc))
    if problems:
        raise CommandError("invalid rules or SLO specs:\n" + "\n".join(problems))
    return groups, slos


def external_url_of(config: Config, port: int) -> str:
    if config.rules.external_url:
        return config.rules.external_url
    host = config.server.listen.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@dataclass
class RulesParts:
    """The running pieces of the rules role; :meth:`start` and :meth:`stop` own threads."""

    manager: Any  # slo.rules.manager.RuleManager
    notifier: Any = None  # slo.notify.notifier.Notifier
    outbox: Any = None  # slo.notify.outbox.Outbox
    sender: Any = None  # slo.notify.alertmanager_push.AlertmanagerSender
    slos: tuple = ()  # slo.spec.model.SLO of slo.files, for the dashboard
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        targets = [("rules", lambda: self.manager.run(self._stop))]
        if self.notifier is not None:
            targets.append(("notifier", self._tick_notifier))
            targets.append(("outbox", lambda: self.outbox.run(self._stop, _now_ms)))
        for name, target in targets:
            thread = threading.Thread(target=target, name=f"sloscope-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.sender is not None:
            self.sender.start()

    def _tick_notifier(self) -> None:
        while not self._stop.is_set():
            try:
                self.notifier.tick(_now_ms())
            except Exception:  # keep routing alive; the next tick retries
                log.exception("notifier tick failed")
            due = self.notifier.next_flush_ms()
            wait_ms = 1000 if due is None else min(1000, max(0, due - _now_ms()))
            self._stop.wait(wait_ms / 1000)

    def stop(self) -> None:
        self._stop.set()
        if self.outbox is not None:
            self.outbox.wake()
        for thread in self._threads:
            thread.join()
        if self.sender is not None:
            self.sender.stop(timeout_s=_ALERTMANAGER_TIMEOUT_S)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def build_rules(config: Config, store, appender, external_url: str) -> RulesParts | None:
    """The rules role over *store* (queries) writing through *appender*; None when no rule
    files and no SLOs are configured. Raises CommandError for any bad file."""
    if not config.rules.files and not config.slo.files:
        return None
    from slo.rules.manager import RuleManager

    groups, slos = load_rule_groups(config)
    parts = RulesParts(manager=None, slos=tuple(slos))
    _build_notifications(config, store, external_url, parts)
    manager = RuleManager(
        groups,
        querier=store,
        appender=appender,
        interval_ms=config.rules.evaluation_interval_ms,
        external_url=external_url,
        notify=_notify_function(parts, external_url),
    )
    parts.manager = manager
    _warn_about_latency_buckets(slos, store)
    log.info("rules: %d groups, %d rules", len(groups), sum(len(g.rules) for g in groups))
    return parts


def _build_notifications(config: Config, store, external_url: str, parts: RulesParts) -> None:
    if config.notify.config_file:
        from slo.notify.config_loader import ConfigError, load_config
        from slo.notify.notifier import Notifier
        from slo.notify.outbox import Outbox

        try:
            notify_config = load_config(config.notify.config_file)
        except ConfigError as exc:
            raise CommandError(f"invalid notifier config:\n{exc}") from None
        receivers = {r.name: r for r in notify_config.receivers}
        parts.outbox = Outbox(store.engine, receivers, external_url=external_url)
        parts.outbox.create_tables()
        parts.notifier = Notifier(
            notify_config, store.engine, parts.outbox.enqueue, external_url=external_url
        )
    if config.notify.alertmanager_urls:
        from slo.notify.alertmanager_push import AlertmanagerSender

        parts.sender = AlertmanagerSender(
            config.notify.alertmanager_urls, timeout_s=_ALERTMANAGER_TIMEOUT_S
        )


def _notify_function(parts: RulesParts, external_url: str):
    from slo.rules.alert_notify import notify_alert

    def notify(alerts, ts_ms: int) -> None:
        sent = [notify_alert(alert, external_url) for alert in alerts]
        if parts.notifier is not None:
            for problem in parts.notifier.receive(sent, ts_ms):
                log.warning("notifier refused an alert: %s", problem)
        if parts.sender is not None:
            parts.sender.send(sent)

    return notify


def _warn_about_latency_buckets(slos, store) -> None:
    """A latency SLI whose threshold is no stored bucket bound would read 0 or garbage."""
    from slo.spec.latency_buckets import check_latency_buckets

    for problem in check_latency_buckets(slos, store):
        log.warning("SLO spec: %s", problem)


def register_rules_api(app, parts: RulesParts | None) -> None:
    """``/api/v1/rules`` and ``/api/v1/alerts`` (Prometheus), and with a notifier
    ``/api/v2/alerts`` and ``/api/v2/silences`` (Alertmanager). Without rules, the Prometheus
    paths answer empty lists, as a Prometheus without rule files does."""
    from slo.rules.prom_api import create_rules_api_blueprint

    groups = (lambda: []) if parts is None else parts.manager.groups
    app.register_blueprint(create_rules_api_blueprint(groups), url_prefix="/api/v1")
    if parts is not None and parts.notifier is not None:
        from slo.notify.am_api import create_alertmanager_api_blueprint

        api = create_alertmanager_api_blueprint(parts.notifier, _now_ms)
        app.register_blueprint(api, url_prefix="/api/v2")
