"""``python -m reference_backend.loadgen --host URL --profile smoke [options]``.

    python -m reference_backend.loadgen --host http://127.0.0.1:8000 --profile load \\
        --duration 2m --users 40 --threshold 'p95<300ms' --threshold 'error_rate<1%'

Exit status: 0 when every threshold passed, 1 when one failed (or the run was cut short),
2 for a usage error such as a non-loopback host. Progress goes to stderr, the summary table
to stdout. Importing this module does not import Locust; ``main`` does, when a run starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace

from reference_backend.loadgen.profile import (
    BUILTIN_PROFILES,
    MAX_DURATION_S,
    MAX_USERS,
    SCENARIOS,
    Profile,
    ProfileError,
    get_profile,
    parse_duration,
    parse_threshold,
)
from reference_backend.loadgen.runner import HostNotAllowed, format_summary, require_loopback, run

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments; ``sloscope load`` may reuse it to stay in step."""
    profiles = "; ".join(f"{n}: {p.description}" for n, p in BUILTIN_PROFILES.items())
    parser = argparse.ArgumentParser(
        prog="python -m reference_backend.loadgen",
        description="Drive the reference shop with Locust and judge SLO-style thresholds.",
        epilog=f"Profiles - {profiles}.",
    )
    parser.add_argument("--host", default="http://127.0.0.1:8000", help="loopback URL only")
    parser.add_argument("--profile", default="smoke", help=", ".join(BUILTIN_PROFILES))
    parser.add_argument(
        "--duration",
        help=f"fit the profile's stages into this long (e.g. 30s, 2m; max {MAX_DURATION_S:.0f}s)",
    )
    parser.add_argument(
        "--users", type=int, help=f"scale the profile to peak at N users (max {MAX_USERS})"
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="EXPR",
        help="e.g. 'p95<500ms', 'p99<1s', 'error_rate<1%%', 'rps>=20'; replaces the profile's",
    )
    parser.add_argument(
        "--products", type=int, default=10_000, help="product ids to pick from: 1..N (seeded)"
    )
    parser.add_argument(
        "--customers", type=int, default=2_000, help="customer ids to pick from: 1..N (seeded)"
    )
    parser.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="SCENARIO=N",
        help=f"scenario weight, e.g. order=30 ({', '.join(SCENARIOS)})",
    )
    return parser


def _weights(profile: Profile, pairs: Sequence[str]) -> dict[str, int]:
    weights = dict(profile.weights)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value.strip().isdigit():
            raise ProfileError(f"bad --weight {pair!r}: expected SCENARIO=N, e.g. order=30")
        weights[name.strip()] = int(value)
    return weights


def plan(args: argparse.Namespace) -> tuple[str, Profile]:
    """Validate everything before any traffic: (host, profile) or ProfileError/HostNotAllowed."""
    host = require_loopback(args.host)
    profile = get_profile(args.profile)
    duration = parse_duration(args.duration) if args.duration else None
    profile = profile.scaled(duration_s=duration, users=args.users)
    thresholds = tuple(parse_threshold(t) for t in args.threshold) or profile.thresholds
    return host, replace(profile, thresholds=thresholds, weights=_weights(profile, args.weight))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 pass, 1 fail, 2 usage error)."""
    args = build_parser().parse_args(argv)
    try:
        host, profile = plan(args)
    except (ProfileError, HostNotAllowed) as e:
        print(f"loadgen: {e}", file=sys.stderr)
        return 2
    print(
        f"loadgen: {profile.name} ({profile.mode.value}) against {host} for "
        f"{profile.total_duration_s:.0f}s, up to {profile.peak_users} users; thresholds: "
        + (", ".join(t.text for t in profile.thresholds) or "none"),
        file=sys.stderr,
        flush=True,
    )
    if args.products < 1 or args.customers < 1:
        print("loadgen: --products and --customers must be at least 1", file=sys.stderr)
        return 2
    # This process exists only to run the load: setting the scenarios' id ranges is safe.
    from reference_backend.loadgen import scenarios

    scenarios.PRODUCT_IDS = (1, args.products)
    scenarios.CUSTOMER_IDS = (1, args.customers)
    result = run(host, profile, err=sys.stderr)
    print(format_summary(result), flush=True)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
