"""``sloscope demo``: the server, the reference shop and steady load in one command.

    sloscope demo [--data-dir DIR] [--port N] [--users N] [--redis-url URL]
    sloscope demo fault latency|errors|redis|pool|clear|list [--data-dir DIR]

The first form runs until Ctrl-C (or SIGTERM) and exits 0 after stopping every part; it exits
1 naming the part that failed to start or died. The second finds the running demo through the
state file in its data directory and flips the shop's faults. docs/demo.md has the details.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys

from sloscope.server.demo_faults import CHOICES, FAULT_PRESETS

__all__ = ["add_demo_arguments", "run_demo", "run_fault"]

DEFAULT_DATA_DIR = "sloscope-demo"
DEFAULT_PORT = 9900
DEFAULT_USERS = 8
RUM_BUILD = "python -m collector.receivers.rum_script_build"


def add_demo_arguments(demo: argparse.ArgumentParser) -> None:
    """The ``demo`` command's options and its ``fault`` subcommand (used by sloscope.cli)."""
    demo.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
        help="configuration, databases, logs and state (default: ./sloscope-demo)",
    )  # fmt: skip
    demo.add_argument(
        "--port", type=int, default=DEFAULT_PORT, metavar="N",
        help=f"dashboard and API port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)",
    )  # fmt: skip
    demo.add_argument(
        "--users", type=int, default=DEFAULT_USERS, metavar="N",
        help=f"virtual users of the steady load (default {DEFAULT_USERS})",
    )  # fmt: skip
    demo.add_argument(
        "--redis-url", default="", metavar="URL",
        help="a Redis for the shop's caches (default: a private redis-server if installed)",
    )  # fmt: skip
    actions = demo.add_subparsers(dest="demo_action", metavar="ACTION")
    fault = actions.add_parser(
        "fault", help="make a running demo's SLO burn: " + ", ".join(CHOICES)
    )
    fault.add_argument("name", choices=CHOICES, metavar="NAME", help=", ".join(CHOICES))
    # SUPPRESS: given only after `fault`, it must not reset the value given before it.
    fault.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR")
    fault.set_defaults(demo_action="fault")


def run_demo(args: argparse.Namespace) -> int:
    if getattr(args, "demo_action", None) == "fault":
        return run_fault(args)
    from sloscope.server.demo_layout import (
        DemoLayout,
        DemoPorts,
        shipped_alert_rules,
        write_demo_config,
    )
    from sloscope.server.demo_ready import free_port, port_is_free
    from sloscope.server.demo_run import DemoFailed, DemoRun, DemoSettings, data_dir_path
    from sloscope.server.demo_state import StateError, read_state

    if not 1 <= args.users <= 200:
        return _fail("--users: expected 1 to 200")
    if not 0 <= args.port <= 65535:
        return _fail(f"--port: expected 0 to 65535, got {args.port}")
    layout = DemoLayout(data_dir_path(args.data_dir))
    try:
        running = read_state(layout.state_file)
    except StateError:
        running = None
    if running is not None:
        return _fail(f"a demo is already running with {layout.data_dir} (pid {running.pid}): "
                     f"{running.dashboard_url}")  # fmt: skip
    if args.port and not port_is_free(args.port):
        return _fail(f"port {args.port} is in use: pass --port N, or --port 0 for any free port")
    redis_port = 0
    if not args.redis_url and shutil.which("redis-server") is not None:
        redis_port = free_port()
    ports = DemoPorts(server=args.port or free_port(), shop=free_port(), redis=redis_port)
    rules = shipped_alert_rules()
    write_demo_config(layout, ports, rules)
    run = DemoRun(DemoSettings(layout, ports, args.users, args.redis_url), say=_say)
    # SIGTERM stops the demo as Ctrl-C does (a KeyboardInterrupt wherever it is).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run.start()
        _print_banner(run, rules)
        run.watch()
    except KeyboardInterrupt:
        _say("stopping the demo")
        return 0
    except DemoFailed as exc:
        print(f"sloscope demo: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        run.stop()
    return 0  # pragma: no cover - watch() returns only by an exception


def run_fault(args: argparse.Namespace) -> int:
    from sloscope.server.demo_faults import FaultRefused, apply_fault, list_faults
    from sloscope.server.demo_layout import DemoLayout
    from sloscope.server.demo_run import data_dir_path
    from sloscope.server.demo_state import StateError, read_state

    layout = DemoLayout(data_dir_path(args.data_dir))
    try:
        state = read_state(layout.state_file)
        if args.name == "list":
            print(json.dumps(list_faults(state), indent=2, sort_keys=True))
        else:
            print(apply_fault(state, args.name))
    except (StateError, FaultRefused) as exc:
        return _fail(str(exc))
    return 0


def _print_banner(run, rules) -> None:
    """The dashboard URL, the other parts, and the faults to try (as commands to copy)."""
    from sloscope.server.demo_run import data_dir_path

    layout = run.settings.layout
    lines = [
        "",
        f"sloscope demo is running. Dashboard: {run.server_url}/",
        f"  shop:   {run.shop_url}/  (open it in a browser: its pages send RUM data)",
        f"  load:   {run.settings.users} users, steady; Redis: {run.redis_url or 'none'}",
        f"  data:   {layout.data_dir}  (logs in {layout.logs_dir})",
        f"  rules:  {len(rules)} shipped alert rule files + the demo SLOs in {layout.slo_file}",
        "",
        "Make an SLO burn (an alert fires within about two minutes; docs/demo.md):",
    ]
    default = data_dir_path(DEFAULT_DATA_DIR)
    here = "" if layout.data_dir == default else f" --data-dir {layout.data_dir}"
    for name, preset in FAULT_PRESETS.items():
        lines.append(f"  sloscope demo{here} fault {name:<8} # burns {preset.burns}")
    lines += [f"  sloscope demo{here} fault clear    # every fault off", "", "Ctrl-C stops it."]
    from collector.receivers.rum_script_build import OUTPUT

    if not OUTPUT.is_file():  # the shop's pages would load no RUM script: say how to build it
        lines.insert(3, f"          (no RUM script yet: run {RUM_BUILD})")
    print("\n".join(lines), flush=True)


def _say(message: str) -> None:
    print(f"sloscope demo: {message}", flush=True)


def _fail(message: str) -> int:
    print(f"sloscope demo: {message}", file=sys.stderr, flush=True)
    return 1
