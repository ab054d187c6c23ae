"""``python -m reference_backend faults ...``: flip a running shop's faults over HTTP.

    python -m reference_backend faults list
    python -m reference_backend faults on latency --json '{"ms": 250, "routes": ["/products*"]}'
    python -m reference_backend faults off latency
    python -m reference_backend faults flush

It talks to ``/admin/faults`` of ``--url`` (default ``$SHOP_URL`` or http://127.0.0.1:8000)
with ``--token`` (default ``$ADMIN_TOKEN``). Exit status: 0 done, 1 the shop refused the
request (bad parameters, unknown fault), 2 it could not be asked (unreachable, bad token).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["add_arguments", "main", "run"]

TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Add the ``faults`` sub-commands to ``parser`` (shared with ``reference_backend``'s CLI)."""
    common = argparse.ArgumentParser(add_help=False)  # options after the action, as in --help
    common.add_argument(
        "--url", default=environ.get("SHOP_URL", "http://127.0.0.1:8000"), help="the shop"
    )
    common.add_argument(
        "--token", default=environ.get("ADMIN_TOKEN", ""), help="admin token ($ADMIN_TOKEN)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="every fault and its state")
    on = actions.add_parser("on", parents=[common], help="turn a fault on")
    on.add_argument("name")
    on.add_argument("--json", dest="params", type=_json_object, default={},
                    help="the fault's parameters, a JSON object")  # fmt: skip
    off = actions.add_parser("off", parents=[common], help="turn a fault off")
    off.add_argument("name")
    actions.add_parser("flush", parents=[common], help="empty every cache now (one shot)")


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, like '{\"ms\": 200}'")
    return value


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Send the request ``args`` describe; print the shop's JSON answer or a clear error."""
    if not args.token:
        print("error: no admin token: pass --token or set ADMIN_TOKEN", file=err)
        return 2
    method, path, body = {
        "list": ("GET", "/admin/faults", None),
        "flush": ("POST", "/admin/faults/cache_flush", None),
        "on": ("PUT", f"/admin/faults/{getattr(args, 'name', '')}", getattr(args, "params", {})),
        "off": ("DELETE", f"/admin/faults/{getattr(args, 'name', '')}", None),
    }[args.action]
    url = args.url.rstrip("/") + path
    status, answer = _call(method, url, args.token, body)
    if status is None:
        print(f"error: cannot reach the shop at {args.url}: {answer}", file=err)
        return 2
    if status in (401, 403):
        print(f"error: the shop rejected the admin token (HTTP {status})", file=err)
        return 2
    if status >= 400:
        details = answer.get("errors") if isinstance(answer, dict) else None
        reason = answer.get("error", answer) if isinstance(answer, dict) else answer
        print(f"error: HTTP {status}: {reason}", file=err)
        for line in details or ():
            print(f"  - {line}", file=err)
        return 1
    print(json.dumps(answer, indent=2, sort_keys=True), file=out)
    return 0


def _call(method: str, url: str, token: str, body: Any) -> tuple[int | None, Any]:
    """(status, decoded JSON or text), or (None, why) when no HTTP answer came back."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _decode(exc.read())
    except (urllib.error.URLError, OSError) as exc:
        return None, getattr(exc, "reason", None) or exc


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Parse ``argv`` (what follows ``faults``) and run it; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m reference_backend faults")
    add_arguments(parser, os.environ if environ is None else environ)
    return run(parser.parse_args(argv))
