"""``python -m reference_backend seed|serve|faults|load``."""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


def _seed(args: argparse.Namespace) -> int:
    from reference_backend.db import create_schema, make_engine
    from reference_backend.seed import SeedPlan, seed
    from reference_backend.settings import Settings

    settings = Settings.from_environ()
    engine = make_engine(settings.database_url, settings, "primary")
    create_schema(engine)
    started = time.perf_counter()
    counts = seed(engine, SeedPlan(args.products, args.customers, args.orders, args.seed))
    took = time.perf_counter() - started
    print(", ".join(f"{n:,} {name}" for name, n in counts.items()) + f" in {took:.1f}s")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from waitress import serve

    import sloscope
    from reference_backend import create_app

    sloscope.init(service_name="shop")
    app = create_app()
    scheduler = app.extensions["shop"].scheduler
    if scheduler is not None:
        scheduler.start()
    print(f"shop on http://{args.host}:{args.port}", flush=True)
    try:
        serve(app, host=args.host, port=args.port, threads=args.threads)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        app.extensions["shop"].jobs.shutdown(5.0)
        sloscope.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_backend")
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="fill the database with a generated shop")
    seed.add_argument("--products", type=int, default=10_000)
    seed.add_argument("--customers", type=int, default=2_000)
    seed.add_argument("--orders", type=int, default=20_000)
    seed.add_argument("--seed", type=int, default=42)
    seed.set_defaults(run=_seed)
    serve = commands.add_parser("serve", help="serve the shop with waitress")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=8)
    serve.set_defaults(run=_serve)
    faults = commands.add_parser("faults", help="list and switch faults of a running shop")
    faults.add_argument("rest", nargs=argparse.REMAINDER)
    faults.set_defaults(run=lambda a: _faults(a.rest))
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


def _faults(rest: list[str]) -> int:
    from reference_backend.faults_cli import main as faults_main

    return faults_main(rest)


if __name__ == "__main__":
    sys.exit(main())
