"""What a user sees when a command fails: one line naming the failure and an exit code, never a traceback.

A traceback is for developers: `hierskp --debug ...` or ``HIERSKP_DEBUG=1`` shows it instead. The same
one-line form is what a flow run reports to Prefect (`one_line`).
"""

from __future__ import annotations

import errno
import os
import signal

# exit codes: 1 a failure while working, 2 bad input or a refusal, 130 interrupted (128 + SIGINT),
# 143 terminated (128 + SIGTERM)
EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, a scheduler's stop (Kubernetes, Slurm, systemd, a Prefect cancellation), handled as Ctrl-C
    is: the work finished so far is kept, a run folder's lock released, a fresh run's files undone."""


def stop_on_sigterm() -> None:
    """Raise `Terminated` in the main thread on SIGTERM, unless this process was started with it ignored."""

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, terminate)


_OS_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space (or choose another folder) and rerun",
    errno.EDQUOT: "disk quota exceeded; free some space and rerun",
    errno.EROFS: "the file system is read-only; choose a writable folder",
    errno.EACCES: "permission denied; choose a folder you may write, or fix its permissions",
    errno.EPERM: "operation not permitted; choose a folder you may write, or fix its permissions",
}


def debug_enabled(argv: list[str] | None = None) -> bool:
    return "--debug" in (argv or []) or os.environ.get("HIERSKP_DEBUG", "").strip() not in ("", "0", "false")


def one_line(exc: BaseException) -> str:
    """The failure in one line: the error's own message (its first line when it has several), with the
    file and a hint for operating-system errors such as a full disk or a read-only folder."""
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM); work finished so far is kept, rerun the same command to continue"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C); work finished so far is kept, rerun the same command to continue"
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or os.strerror(exc.errno)}{where}: {_OS_HINTS[exc.errno]}"
    if callable(getattr(exc, "errors", None)) and type(exc).__name__ == "ValidationError":  # pydantic
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']} (value {e.get('input')!r})"
            for e in exc.errors()  # type: ignore[attr-defined]
        )
    text = _join_lines(str(exc)) or type(exc).__name__
    return text if isinstance(exc, (ValueError, OSError, RuntimeError)) else f"{type(exc).__name__}: {text}"


def _join_lines(message: str) -> str:
    """A message of several lines (a list of problems) as one: '; ' between items, ' ' after a colon."""
    out = ""
    for line in (" ".join(raw.split()) for raw in message.splitlines()):
        if line:
            out += (" " if not out or out.endswith(":") else "; ") + line
    return out.strip()


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_REFUSED if isinstance(exc, (ValueError, FileExistsError, FileNotFoundError)) else EXIT_FAILED
