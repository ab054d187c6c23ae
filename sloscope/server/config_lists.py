"""The list-valued sections of ``sloscope.yml``: ``scrape_configs`` and ``rum.apps``.

They are written as in Prometheus (``scrape_configs`` is a list of jobs), so they are read from
the file only: there are no ``SLOSCOPE_SCRAPE_CONFIGS_*`` or ``SLOSCOPE_RUM_*`` variables, and
setting one is an error. :func:`read_list_sections` walks the YAML nodes of these two sections
itself, so every problem names the file, line, column and the indexed key::

    sloscope.yml:12:7: scrape_configs[0].static_configs[0].targets[1]: expected host:port, got 'x'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from sloscope.server.config_values import (
    number_at_least,
    parse_bool,
    parse_label_name,
    parse_metrics_path,
    parse_origin,
    parse_scheme,
    parse_target,
    parse_text,
    positive_duration,
)
from sloscope.server.config_yaml import Origin, Problem, did_you_mean
from sloscope.server.config_yaml import describe_node as _describe
from sloscope.server.config_yaml import is_null as _is_null

__all__ = [
    "LIST_SCHEMA",
    "ListSections",
    "RumAppConfig",
    "RumConfig",
    "ScrapeJobConfig",
    "StaticConfig",
    "list_env_problems",
    "read_list_sections",
]

#: The sections as :func:`sloscope.server.config_yaml.read_yaml` sees them: known, no keys.
LIST_SCHEMA: dict[str, list[str]] = {"scrape_configs": [], "rum": []}
_ENV_PREFIXES = ("SLOSCOPE_SCRAPE_CONFIGS", "SLOSCOPE_RUM_")


@dataclass(frozen=True)
class StaticConfig:
    """One ``static_configs`` entry: ``host:port`` targets and labels (``(name, value)``)."""

    targets: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ScrapeJobConfig:
    """One ``scrape_configs`` job, with Prometheus' key names."""

    job_name: str
    static_configs: tuple[StaticConfig, ...] = ()
    #: The one ``file_sd_configs[0].files[0]`` path, if any.
    file_sd_path: str | None = None
    scrape_interval_ms: int = 15_000
    scrape_timeout_ms: int = 10_000
    metrics_path: str = "/metrics"
    scheme: str = "http"
    honor_labels: bool = False

    @property
    def targets(self) -> tuple[str, ...]:
        """Every static target of the job, in file order."""
        return tuple(t for static in self.static_configs for t in static.targets)


@dataclass(frozen=True)
class RumAppConfig:
    """One ``rum.apps`` entry: a site allowed to send browser beacons."""

    name: str
    public_key: str
    allowed_origins: tuple[str, ...] = ()
    rate_per_s: float = 10.0
    burst: float = 50.0


@dataclass(frozen=True)
class RumConfig:
    """``rum``: the browser apps whose beacons are accepted (none by default)."""

    apps: tuple[RumAppConfig, ...] = ()


@dataclass(frozen=True)
class ListSections:
    scrape_configs: tuple[ScrapeJobConfig, ...] = ()
    rum: RumConfig = field(default_factory=RumConfig)


def list_env_problems(environ: Mapping[str, str]) -> list[Problem]:
    """A ``SLOSCOPE_SCRAPE_CONFIGS*`` or ``SLOSCOPE_RUM_*`` variable is an error: file only."""
    problems = []
    for name in sorted(environ):
        if name.startswith(_ENV_PREFIXES):
            section = "scrape_configs" if name.startswith(_ENV_PREFIXES[0]) else "rum"
            message = f"unknown setting; {section} is read from the config file only"
            problems.append(Problem(Origin(f"environment variable {name}"), "", message))
    return problems


def read_list_sections(
    filename: str, problems: Sequence[Problem]
) -> tuple[ListSections, list[Problem]]:
    """Read the list sections of *filename*; *problems* are the generic walker's.

    The walker (which knows these sections but none of their keys) reports only what it must
    not: its problems inside these sections are replaced by this reader's precise ones. A file
    that cannot be read or parsed yields the defaults (the walker has reported why).
    """
    kept = [p for p in problems if not _inside_list_section(p)]
    try:
        with open(filename, encoding="utf-8") as fh:
            loader = yaml.SafeLoader(fh.read())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ListSections(), kept
    try:
        root = loader.get_single_node()
        if not isinstance(root, yaml.MappingNode):
            return ListSections(), kept
        reader = _Reader(loader, filename)
        sections = reader.sections(root)
    except yaml.YAMLError:
        return ListSections(), kept
    finally:
        loader.dispose()
    return sections, kept + reader.problems


def _inside_list_section(problem: Problem) -> bool:
    for name in LIST_SCHEMA:
        if problem.key.startswith(f"{name}.") or problem.key.startswith(f"{name}["):
            return True
        if problem.key == name and problem.message.startswith("expected a mapping"):
            return True
    return False


# --- the node reader -------------------------------------------------------------------------

_BAD = object()  # a value that failed to parse; its problem is already recorded
_JOB_KEYS = (
    "job_name", "static_configs", "file_sd_configs", "scrape_interval", "scrape_timeout",
    "metrics_path", "scheme", "honor_labels",
)  # fmt: skip
_APP_KEYS = ("name", "public_key", "allowed_origins", "rate_per_s", "burst")


class _Reader:
    """Walks the nodes of the list sections; collects problems as it goes."""

    def __init__(self, loader: yaml.SafeLoader, filename: str) -> None:
        self._loader = loader
        self._filename = filename
        self.problems: list[Problem] = []

    def sections(self, root: yaml.MappingNode) -> ListSections:
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in root.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if name in LIST_SCHEMA and name not in found:  # the walker reports duplicates
                found[name] = value_node
        jobs: tuple[ScrapeJobConfig, ...] = ()
        if "scrape_configs" in found:
            jobs = self._jobs(found["scrape_configs"])
        rum = RumConfig()
        if "rum" in found:
            keys = self.mapping(found["rum"], "rum", ("apps",))
            rum = RumConfig(self._apps(keys["apps"]) if "apps" in keys else ())
        return ListSections(jobs, rum)

    # -- scrape_configs --

    def _jobs(self, node: yaml.Node) -> tuple[ScrapeJobConfig, ...]:
        jobs: list[ScrapeJobConfig] = []
        names: dict[str, yaml.Node] = {}
        for i, item in enumerate(self.sequence(node, "scrape_configs", "scrape jobs")):
            job = self._job(item, f"scrape_configs[{i}]")
            if job is None:
                continue
            name_node = next(v for k, v in item.value if k.value == "job_name")
            if job.job_name in names:
                self._duplicate(name_node, f"scrape_configs[{i}].job_name", names[job.job_name])
                continue
            names[job.job_name] = name_node
            jobs.append(job)
        return tuple(jobs)

    def _job(self, node: yaml.Node, where: str) -> ScrapeJobConfig | None:
        before = len(self.problems)
        keys = self.mapping(node, where, _JOB_KEYS, required=("job_name",))
        if "job_name" not in keys:
            return None
        values: dict[str, Any] = {
            "job_name": self.scalar(keys["job_name"], f"{where}.job_name", parse_text()),
            "static_configs": self._statics(keys.get("static_configs"), where),
            "file_sd_path": self._file_sd(keys.get("file_sd_configs"), where),
            "metrics_path": self.opt(keys, "metrics_path", where, parse_metrics_path),
            "scheme": self.opt(keys, "scheme", where, parse_scheme),
            "honor_labels": self.opt(keys, "honor_labels", where, parse_bool),
        }
        interval = self.opt(keys, "scrape_interval", where, positive_duration)
        timeout = self.opt(keys, "scrape_timeout", where, positive_duration)
        if isinstance(interval, int):
            values["scrape_interval_ms"] = interval
            if timeout is None:  # Prometheus: an unset timeout is capped at the interval
                values["scrape_timeout_ms"] = min(interval, ScrapeJobConfig.scrape_timeout_ms)
        if isinstance(timeout, int):
            values["scrape_timeout_ms"] = timeout
            limit = values.get("scrape_interval_ms", ScrapeJobConfig.scrape_interval_ms)
            if timeout > limit:
                shown = keys["scrape_interval"].value if "scrape_interval" in keys else "15s"
                message = f"must not be longer than scrape_interval ({shown})"
                self.problem(keys["scrape_timeout"], f"{where}.scrape_timeout", message)
        if len(self.problems) > before:  # the job is invalid: reported, and left out
            return None
        return ScrapeJobConfig(**{k: v for k, v in values.items() if v is not None})

    def _statics(self, node: yaml.Node | None, where: str) -> tuple[StaticConfig, ...] | None:
        if node is None:
            return None
        where = f"{where}.static_configs"
        statics = []
        for i, item in enumerate(self.sequence(node, where, "{targets: [...], labels: {...}}")):
            at = f"{where}[{i}]"
            keys = self.mapping(item, at, ("targets", "labels"))
            targets = [
                self.scalar(t, f"{at}.targets[{j}]", parse_target)
                for j, t in enumerate(
                    self.sequence(keys.get("targets"), f"{at}.targets", "host:port")
                )
            ]
            labels = self._labels(keys.get("labels"), f"{at}.labels")
            statics.append(StaticConfig(tuple(t for t in targets if t is not _BAD), labels))
        return tuple(statics)

    def _labels(self, node: yaml.Node | None, where: str) -> tuple[tuple[str, str], ...]:
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                node, where, f"expected a mapping of label names to values, got {_describe(node)}"
            )
            return ()
        labels = []
        for key_node, value_node in node.value:
            name = self.scalar(key_node, f"{where}.{key_node.value}", parse_label_name)
            value = self.scalar(value_node, f"{where}.{key_node.value}", parse_text("a string"))
            if name is not _BAD and value is not _BAD:
                labels.append((name, value))
        return tuple(sorted(labels))

    def _file_sd(self, node: yaml.Node | None, where: str) -> str | None:
        if node is None:
            return None
        where = f"{where}.file_sd_configs"
        paths = []
        for i, item in enumerate(self.sequence(node, where, "{files: [path]}")):
            keys = self.mapping(item, f"{where}[{i}]", ("files",), required=("files",))
            files = self.sequence(keys.get("files"), f"{where}[{i}].files", "file paths")
            paths += [(f, f"{where}[{i}].files[{j}]") for j, f in enumerate(files)]
        for extra, at in paths[1:]:
            self.problem(extra, at, "only one file_sd file per job is supported")
        if not paths:
            return None
        return self.scalar(paths[0][0], paths[0][1], parse_text("a file path"))

    # -- rum --

    def _apps(self, node: yaml.Node) -> tuple[RumAppConfig, ...]:
        apps: list[RumAppConfig] = []
        seen: dict[tuple[str, str], yaml.Node] = {}
        for i, item in enumerate(self.sequence(node, "rum.apps", "apps")):
            where = f"rum.apps[{i}]"
            keys = self.mapping(item, where, _APP_KEYS, required=("name", "public_key"))
            app = self._app(keys, where)
            if app is None:
                continue
            unique = True
            for key in ("name", "public_key"):
                value = (key, getattr(app, key))
                if value in seen:
                    self._duplicate(keys[key], f"{where}.{key}", seen[value])
                    unique = False
                seen.setdefault(value, keys[key])
            if unique:
                apps.append(app)
        return tuple(apps)

    def _app(self, keys: dict[str, yaml.Node], where: str) -> RumAppConfig | None:
        if not {"name", "public_key"} <= keys.keys():
            return None  # reported by mapping()
        before = len(self.problems)
        origins = self.sequence(keys.get("allowed_origins"), f"{where}.allowed_origins", "origins")
        values: dict[str, Any] = {
            "name": self.opt(keys, "name", where, parse_text()),
            "public_key": self.opt(keys, "public_key", where, parse_text()),
            "allowed_origins": tuple(
                self.scalar(o, f"{where}.allowed_origins[{j}]", parse_origin)
                for j, o in enumerate(origins)
            ),
            "rate_per_s": self.opt(keys, "rate_per_s", where, number_at_least(0, True)),
            "burst": self.opt(keys, "burst", where, number_at_least(1, False)),
        }
        if len(self.problems) > before:
            return None
        return RumAppConfig(**{k: v for k, v in values.items() if v is not None})

    # -- generic node checks --

    def mapping(
        self, node: yaml.Node, where: str, keys: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, yaml.Node]:
        """The value nodes of a mapping's known keys; reports misfits and missing keys."""
        if _is_null(node) and not required:
            return {}
        if not isinstance(node, yaml.MappingNode):
            expected = f"expected a mapping of keys ({', '.join(keys)}), got {_describe(node)}"
            self.problem(node, where, expected)
            return {}
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            dotted = f"{where}.{name}"
            if name not in keys:
                self.problem(key_node, dotted, f"unknown key{did_you_mean(name, keys)}")
            elif name in found:
                self._duplicate(key_node, dotted, found[name], "key")
            else:
                found[name] = value_node
        for name in required:
            if name not in found:
                self.problem(node, where, f"missing required key {name}")
        return found

    def sequence(self, node: yaml.Node | None, where: str, what: str) -> list[yaml.Node]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, where, f"expected a list of {what}, got {_describe(node)}")
            return []
        return list(node.value)

    def scalar(self, node: yaml.Node | None, where: str, parse: Callable[[Any], Any]) -> Any:
        """Parse a value node; None when absent, :data:`_BAD` (reported) when invalid."""
        if node is None:
            return None
        try:
            value = self._loader.construct_object(node, deep=True)
            return parse(value)
        except yaml.YAMLError as exc:
            self.problem(node, where, f"invalid value: {exc}")
        except ValueError as exc:
            self.problem(node, where, str(exc))
        return _BAD

    def opt(self, keys: dict[str, yaml.Node], name: str, where: str, parse: Callable) -> Any:
        """The optional key *name* of a mapping read by :meth:`mapping`, parsed."""
        return self.scalar(keys.get(name), f"{where}.{name}", parse)

    def _duplicate(self, node: yaml.Node, where: str, first: yaml.Node, what: str = "") -> None:
        at = Origin.from_mark(self._filename, first.start_mark)
        self.problem(node, where, f"duplicate {what or 'value'} (first set at {at})")

    def problem(self, node: yaml.Node, where: str, message: str) -> None:
        origin = Origin.from_mark(self._filename, node.start_mark)
        self.problems.append(Problem(origin, where, message))
