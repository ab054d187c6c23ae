"""The demo's child processes: started with their output in a log file, watched, stopped.

Each child gets a session of its own, so the terminal's Ctrl-C reaches only ``sloscope demo``,
which then stops the children in order (load first, the server last, so the server still takes
what the others send while they finish). On Linux each child also asks the kernel for SIGTERM
when the demo dies without cleaning up (``kill -9``), so no part outlives it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Child", "start_child", "stop_children", "tail"]

#: How long a child may take to stop after SIGINT, then after SIGTERM, before SIGKILL.
STOP_GRACE_S = (15.0, 5.0)
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """One running part of the demo."""

    name: str
    process: subprocess.Popen
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        """None while it runs; its exit status (negative: killed by that signal) after."""
        return self.process.poll()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send SIGTERM to this child when the process that started it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the demo's own shutdown still stops its children


def start_child(
    name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path
) -> Child:
    """Start ``argv`` with stdout and stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    return Child(name, process, log_path)


def _signal(child: Child, signum: int) -> None:
    if child.exit_code() is None:
        try:
            child.process.send_signal(signum)
        except ProcessLookupError:
            pass


def _wait(child: Child, timeout_s: float) -> bool:
    try:
        child.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return True


def stop_children(
    children: Sequence[Child], say=print, grace_s: tuple[float, float] = STOP_GRACE_S
) -> None:
    """Stop every child, in the order given: SIGINT, then SIGTERM, then SIGKILL.

    A child that does not stop within its grace period (``grace_s``: after SIGINT, after
    SIGTERM) is escalated; each is waited for (and reaped) before the next one is asked, so
    the later ones can still take the earlier ones' last data.
    """
    interrupt_grace, terminate_grace = grace_s
    for child in children:
        if child.exit_code() is not None:
            continue
        say(f"stopping {child.name} (pid {child.pid})")
        _signal(child, signal.SIGINT)
        if _wait(child, interrupt_grace):
            continue
        _signal(child, signal.SIGTERM)
        if _wait(child, terminate_grace):
            continue
        say(f"{child.name} did not stop: killing it")
        _signal(child, signal.SIGKILL)
        _wait(child, terminate_grace)


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, to show next to a failure."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 8192))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
