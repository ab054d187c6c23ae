"""Where ``sloscope demo`` keeps things, and the configuration it writes into its data directory.

Everything lives under one data directory (default ``./sloscope-demo``)::

    sloscope.yml     the server's configuration (from demo_files/sloscope.yml)
    shop-slos.yml    the demo SLOs, notify.yml  the notifier's routing (copied as they are)
    sloscope.db      the server's store;  shop.db  the shop's database (seeded once)
    logs/            one log per part: server, shop, load, seed, redis
    demo-state.json  how ``sloscope demo fault`` finds the running demo (see demo_state)

The templates are package data (``sloscope/server/demo_files``), so the demo works from an
installed wheel too; only the shipped ``alert_rules/`` come from a source checkout, when there
is one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template

__all__ = ["DemoLayout", "DemoPorts", "shipped_alert_rules", "write_demo_config"]

DEFAULT_DATA_DIR = Path("sloscope-demo")
#: The shop's public RUM key: it only names the app (beacons are gated by origin).
RUM_APP_KEY = "pk_shop_demo"
_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoPorts:
    """Loopback ports of the parts; ``redis`` is 0 when the demo runs no Redis of its own."""

    server: int
    shop: int
    redis: int = 0


@dataclass(frozen=True)
class DemoLayout:
    """The data directory's files, and the secrets of one run."""

    data_dir: Path
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def config_file(self) -> Path:
        return self.data_dir / "sloscope.yml"

    @property
    def slo_file(self) -> Path:
        return self.data_dir / "shop-slos.yml"

    @property
    def notify_file(self) -> Path:
        return self.data_dir / "notify.yml"

    @property
    def shop_db(self) -> Path:
        return self.data_dir / "shop.db"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "demo-state.json"

    def log_file(self, part: str) -> Path:
        return self.logs_dir / f"{part}.log"


def shipped_alert_rules(root: Path = _CHECKOUT_ROOT) -> list[Path]:
    """The repository's ``alert_rules/*.yml``, or nothing when sloscope runs from a wheel."""
    return sorted((root / "alert_rules").glob("*.yml"))


def _template(name: str) -> str:
    return resources.files("sloscope.server").joinpath("demo_files", name).read_text("utf-8")


def _yaml(value: object) -> str:
    """A YAML flow scalar or list: JSON is valid YAML, and quotes any path safely."""
    return json.dumps(value)


def write_demo_config(layout: DemoLayout, ports: DemoPorts, rule_files: list[Path]) -> None:
    """Write the server's configuration, the SLOs and the notifier file into the data dir."""
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    layout.logs_dir.mkdir(exist_ok=True)
    for name, target in (("shop-slos.yml", layout.slo_file), ("notify.yml", layout.notify_file)):
        target.write_text(_template(name), encoding="utf-8")
    shop = f"127.0.0.1:{ports.shop}"
    server = f"127.0.0.1:{ports.server}"
    text = Template(_template("sloscope.yml")).substitute(
        server_listen=server,
        data_dir=_yaml(str(layout.data_dir)),
        rule_files=_yaml([str(p) for p in rule_files]),
        slo_file=_yaml(str(layout.slo_file)),
        notify_file=_yaml(str(layout.notify_file)),
        shop_target=shop,
        server_target=server,
        rum_key=RUM_APP_KEY,
        rum_origins=_yaml([f"http://{shop}", f"http://localhost:{ports.shop}"]),
    )
    layout.config_file.write_text(text, encoding="utf-8")
