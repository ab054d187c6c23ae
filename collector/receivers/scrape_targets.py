"""Scrape configuration, targets, file-based discovery and target label rules.

Pure of I/O except :class:`FileSD`, which reads one file when its mtime changes. The scraper
(:mod:`collector.receivers.scrape`) asks :func:`current_targets` for a job's targets on each
refresh and compares them with the previous ones to know which targets went away.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from collector.model import METRIC_NAME, Labels

__all__ = [
    "FileSD",
    "ScrapeConfig",
    "Target",
    "merge_target_labels",
    "parse_file_sd",
]

log = logging.getLogger("collector.receivers.scrape")


@dataclass(frozen=True)
class ScrapeConfig:
    """One ``scrape_configs`` entry, with Prometheus' defaults (interval 1 m, timeout 10 s).

    :param targets: static ``host:port`` addresses.
    :param static_groups: static targets with labels: ``((addresses, ((name, value), ...)), ...)``
        (Prometheus' ``static_configs``); their labels join ``job`` and ``instance``.
    :param file_sd_path: a file in Prometheus ``file_sd`` format (JSON, or YAML for
        ``.yml``/``.yaml``) whose targets are added to the static ones.
    :param honor_labels: on a clash between a scraped label and a target label (``job``,
        ``instance``, discovered labels), keep the scraped one; when false the scraped one is
        renamed ``exported_<name>``.
    """

    job_name: str
    targets: tuple[str, ...] = ()
    metrics_path: str = "/metrics"
    scheme: str = "http"
    interval_s: float = 60.0
    timeout_s: float = 10.0
    honor_labels: bool = False
    file_sd_path: str | None = None
    static_groups: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = ()

    def __post_init__(self) -> None:
        if not self.job_name:
            raise ValueError("job_name must not be empty")
        if self.scheme not in ("http", "https"):
            raise ValueError(f"scheme must be http or https, not {self.scheme!r}")
        if self.interval_s <= 0 or self.timeout_s <= 0:
            raise ValueError("interval_s and timeout_s must be positive")
        if self.timeout_s > self.interval_s:
            # Prometheus refuses this too: a scrape would still run when the next one starts.
            raise ValueError("timeout_s must not exceed interval_s")
        object.__setattr__(self, "targets", tuple(self.targets))


@dataclass(frozen=True)
class Target:
    """A scrape target: its job, ``host:port`` and target labels (``job``, ``instance`` and
    any discovered ones). Two targets with equal labels are the same target."""

    job: str
    address: str
    labels: Labels = field(default_factory=lambda: Labels(()))

    @classmethod
    def of(cls, job: str, address: str, extra: dict[str, str] | None = None) -> Target:
        """Discovered labels may set ``job`` and ``instance`` (Prometheus lets them);
        ``__``-prefixed ones are meta labels and never reach the series."""
        labels = {"job": job, "instance": address}
        labels.update((k, v) for k, v in (extra or {}).items() if not k.startswith("__"))
        return cls(job, address, Labels.of(labels))

    def url(self, config: ScrapeConfig) -> str:
        return f"{config.scheme}://{self.address}{config.metrics_path}"


def parse_file_sd(text: str, path: str) -> list[tuple[list[str], dict[str, str]]]:
    """Target groups of a file_sd file: ``[([address, ...], {label: value}), ...]``.

    :raise ValueError: the file is not a list of ``{"targets": [...], "labels": {...}}``.
    """
    data = yaml.safe_load(text) if path.endswith((".yml", ".yaml")) else json.loads(text)
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of target groups")
    groups = []
    for i, group in enumerate(data):
        if not isinstance(group, dict) or not isinstance(group.get("targets", []), list):
            raise ValueError(f"{path}: group {i}: expected {{targets: [...], labels: {{}}}}")
        labels = group.get("labels") or {}
        if not isinstance(labels, dict):
            raise ValueError(f"{path}: group {i}: labels must be a mapping")
        targets = [str(t) for t in group.get("targets", [])]
        groups.append((targets, {str(k): str(v) for k, v in labels.items()}))
    return groups


class FileSD:
    """Targets from one file_sd file, re-read only when its mtime (or size) changes.

    A file that cannot be read or parsed keeps the last good targets, as Prometheus does,
    so a half-written file never makes every target disappear (and go stale).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._groups: list[tuple[list[str], dict[str, str]]] = []
        self.errors = 0

    def groups(self) -> list[tuple[list[str], dict[str, str]]]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._stamp is not None:  # deleted: its targets are gone
                self._stamp, self._groups = None, []
            return self._groups
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                with open(self.path, encoding="utf-8") as fh:
                    self._groups = parse_file_sd(fh.read(), self.path)
                self._stamp = stamp
            except (OSError, ValueError, yaml.YAMLError) as exc:
                self.errors += 1
                log.warning("file_sd %s: %s (keeping the previous targets)", self.path, exc)
        return self._groups


def current_targets(config: ScrapeConfig, file_sd: FileSD | None) -> list[Target]:
    """The job's targets now: static ones, then discovered ones, without duplicates."""
    found = [Target.of(config.job_name, address) for address in config.targets]
    for addresses, labels in config.static_groups:
        found.extend(Target.of(config.job_name, a, dict(labels)) for a in addresses)
    if file_sd is not None:
        for addresses, labels in file_sd.groups():
            found.extend(Target.of(config.job_name, a, labels) for a in addresses)
    return list(dict.fromkeys(found))


def merge_target_labels(
    name: str, scraped: Iterable[tuple[str, str]], target: Labels, honor_labels: bool
) -> Labels:
    """A scraped series' labels with the target's attached, as Prometheus' scrape loop does.

    With ``honor_labels`` the scraped value wins a clash; without it the target's value wins
    and the scraped one moves to ``exported_<name>`` (more ``exported_`` prefixes while that
    name is also taken).

    >>> merge_target_labels("up", [("job", "x")], Labels.of({"job": "api"}), False)
    Labels({'__name__': 'up', 'exported_job': 'x', 'job': 'api'})
    """
    own = dict(scraped)
    own[METRIC_NAME] = name
    if honor_labels:
        merged = {k: v for k, v in target if k not in own}  # present, even empty, wins
        merged.update((k, v) for k, v in own.items() if v != "")
        return Labels.of(merged)
    merged = dict(own)
    taken = set(own) | {k for k, _ in target}
    for key, value in target:
        clash = own.get(key, "")
        if clash:
            exported = "exported_" + key
            while exported in taken:
                exported = "exported_" + exported
            merged[exported] = clash
            taken.add(exported)
        merged[key] = value
    return Labels.of(merged)
