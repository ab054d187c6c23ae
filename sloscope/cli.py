"""The ``sloscope`` command line.

Every server-side import happens inside the command that needs it, so ``import sloscope``
(the SDK) never pulls in the store, SQLAlchemy or Flask.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]


def _add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="sloscope.yml to read (default: $SLOSCOPE_CONFIG, else ./sloscope.yml if present)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sloscope", description="Observability and SLO platform.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    server = commands.add_parser("server", help="run the sloscope server")
    _add_config_flag(server)
    server.add_argument("--listen", metavar="HOST:PORT", help="overrides server.listen")
    server.add_argument("--data-dir", metavar="DIR", help="overrides server.data_dir")
    server.set_defaults(run=_lazy("sloscope.server.run", "run_server"))

    tsdb = commands.add_parser("tsdb", help="inspect and load the time-series store")
    tsdb_commands = tsdb.add_subparsers(dest="tsdb_command", metavar="SUBCOMMAND", required=True)
    load = tsdb_commands.add_parser(
        "import", help="import OpenMetrics text with timestamps (as promtool's openmetrics)"
    )
    _add_config_flag(load)
    load.add_argument("file", metavar="FILE", help="OpenMetrics file; - reads standard input")
    load.set_defaults(run=_lazy("sloscope.server.tsdb_command", "run_import"))
    stats = tsdb_commands.add_parser("stats", help="series, samples and bytes on disk")
    _add_config_flag(stats)
    stats.set_defaults(run=_lazy("sloscope.server.tsdb_command", "run_stats"))

    promql = commands.add_parser("promql", help="PromQL tools")
    promql_commands = promql.add_subparsers(
        dest="promql_command", metavar="SUBCOMMAND", required=True
    )
    test = promql_commands.add_parser(
        "test", help="run promqltest scripts (Prometheus' engine-test format)"
    )
    test.add_argument("files", metavar="FILE", nargs="+")
    test.set_defaults(run=_lazy("sloscope.server.promql_command", "run_test"))

    load = commands.add_parser(
        "load", help="drive load against the reference shop (see --help of the subcommand)"
    )
    load.add_argument("args", nargs=argparse.REMAINDER, help="the load generator's arguments")

    _add_slo_commands(commands)
    web = commands.add_parser("web", help="dashboard tools")
    web_commands = web.add_subparsers(dest="web_command", metavar="SUBCOMMAND", required=True)
    passwd = web_commands.add_parser(
        "passwd", help="hash a password for web.users (reads it from the terminal or stdin)"
    )
    passwd.set_defaults(run=_lazy("sloscope.server.web_role", "run_passwd"))
    _add_rules_commands(commands)
    _add_demo_command(commands)
    return parser


def _add_demo_command(commands) -> None:
    from sloscope.server.demo_command import add_demo_arguments

    demo = commands.add_parser(
        "demo",
        help="run the server, the reference shop and steady load in one go; "
        "`demo fault NAME` makes an SLO burn",
    )
    add_demo_arguments(demo)
    demo.set_defaults(run=_lazy("sloscope.server.demo_command", "run_demo"))


def _add_slo_commands(commands) -> None:
    slo = commands.add_parser("slo", help="SLO specs: validate, generate rules")
    slo_commands = slo.add_subparsers(dest="slo_command", metavar="SUBCOMMAND", required=True)
    validate = slo_commands.add_parser(
        "validate", help="check SLO specs (native, OpenSLO v1, Sloth); errors name file:line:col"
    )
    validate.add_argument("files", metavar="FILE", nargs="+")
    validate.set_defaults(run=_lazy("sloscope.server.slo_validate_command", "run_validate"))
    generate = slo_commands.add_parser(
        "generate", help="write the recording and alert rules of SLO specs"
    )
    generate.add_argument("--format", choices=["prometheus"], default="prometheus")
    generate.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    generate.add_argument("files", metavar="FILE", nargs="+")
    generate.set_defaults(run=_lazy("sloscope.server.slo_generate_command", "run_generate"))
    report = slo_commands.add_parser(
        "report", help="error-budget report per calendar period, as CSV, from stored data"
    )
    _add_config_flag(report)
    report.add_argument("--from", dest="start", required=True, metavar="TIME")
    report.add_argument("--to", dest="end", default="now", metavar="TIME")
    report.add_argument("--period", choices=["week", "month", "quarter"], default=None)
    report.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    report.add_argument("files", metavar="FILE", nargs="+")
    report.set_defaults(run=_lazy("sloscope.server.slo_report_command", "run_report"))


def _add_rules_commands(commands) -> None:
    rules = commands.add_parser("rules", help="Prometheus rule files: check, test, backtest")
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)
    check = rules_commands.add_parser("check", help="validate rule files (as promtool check rules)")
    check.add_argument("files", metavar="FILE", nargs="+")
    check.set_defaults(run=_lazy("sloscope.server.rules_check_command", "run_check"))
    test = rules_commands.add_parser(
        "test", help="run rule unit tests (promtool test rules' file format)"
    )
    test.add_argument("files", metavar="FILE", nargs="+")
    test.set_defaults(run=_lazy("sloscope.server.rules_test_command", "run_test"))
    backtest = rules_commands.add_parser(
        "backtest", help="replay stored history: when each alert would have been pending/firing"
    )
    _add_config_flag(backtest)
    backtest.add_argument("--from", dest="start", required=True, metavar="TIME")
    backtest.add_argument("--to", dest="end", required=True, metavar="TIME")
    backtest.add_argument("files", metavar="FILE", nargs="+")
    backtest.set_defaults(run=_lazy("sloscope.server.rules_backtest_command", "run_backtest"))


def _lazy(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(args)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sloscope`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["load"] and argv[1:2] not in (["-h"], ["--help"]):
        # Everything after `load` belongs to the load generator's own parser (argparse's
        # REMAINDER would stop at the first --option).
        from sloscope.server.load_command import run_load

        return run_load(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
