"""Launcher of the ``pbr-eval`` console script.

It lives outside the ``pbr_eval`` package on purpose: importing the package
(pandas, scipy, statsmodels) takes seconds, and more on a busy machine, and a
Ctrl-C or a broken installation during that import would otherwise reach the
user as a Python traceback. Here both end in one line, as every other failure
of the command line does (:mod:`pbr_eval.cli`); ``--debug`` shows the traceback.
A SIGTERM (``kill``, a scheduler's time limit) is turned into the same
interruption before anything heavy is imported, so it too ends in one line and
exit status 130 (as Ctrl-C, and as a SIGTERM once the command runs) instead of a
silent death; :func:`pbr_eval.cli.main` handles it (cleaning up staged outputs)
once the package is loaded.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

__all__ = ["main"]

_SIGNALLED: list[int] = []  # the signal that interrupted this run, if any


def _terminate(signum: int, frame: Any) -> None:
    _SIGNALLED.append(signum)
    raise KeyboardInterrupt


def _say(line: str) -> None:
    sys.stderr.write(" ".join(line.split()) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Start ``pbr-eval``: import the command line, then run it on ``argv``."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    previous = None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        previous = signal.signal(signal.SIGTERM, _terminate)  # before the heavy imports
    _SIGNALLED.clear()
    try:
        return _start(argv, debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _start(argv: list[str] | None, debug: bool) -> int:
    try:
        from pbr_eval.cli import main as cli_main
    except KeyboardInterrupt:
        if debug:
            raise
        how = "stopped (SIGTERM)" if _SIGNALLED else "interrupted"
        _say(f"pbr-eval: {how} while starting; nothing was written.")
        return 130
    except ImportError as err:
        if debug:
            raise
        _say(f"pbr-eval: error: pbr_eval could not start ({type(err).__name__}: {err}). "
             "Reinstall it (pip install --force-reinstall pbr-eval), or run "
             "`pbr-eval --debug ...` to see where it failed.")
        return 2
    try:
        return cli_main(argv)
    except KeyboardInterrupt:  # between the command's own handlers (e.g. while parsing)
        if debug:
            raise
        _say("pbr-eval: interrupted; outputs from earlier runs were left as they were.")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
