"""Run one protocol script as a sweep cell: ``python -m bioplastic.sweep._cell SCRIPT ARGS...``.

The script runs in this process as if started directly (``runpy``), with a
watchdog: when the process that started the cell (a Dask worker) dies, the
cell receives SIGINT, so the protocol writes its checkpoint and stops, as on
Ctrl-C, and the cell can be resumed elsewhere.  With ``--check`` first, only
the script's options are parsed (:data:`bioplastic.cli.CHECK_OPTIONS_ENV`).
"""

import os
import runpy
import signal
import sys
import threading
import time


def _watch_parent(parent, interval=0.5):
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(120)          # a protocol stops within one chunk; do not linger forever
            os._exit(137)


def main(argv):
    if argv and argv[0] == "--check":
        from bioplastic.cli import CHECK_OPTIONS_ENV

        os.environ[CHECK_OPTIONS_ENV] = "1"
        argv = argv[1:]
    if not argv:
        print("usage: python -m bioplastic.sweep._cell [--check] SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    script = os.path.abspath(argv[0])
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.argv = [script] + list(argv[1:])
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
