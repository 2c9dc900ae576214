"""Run the cells of a sweep on Dask distributed: resumable, retried, with progress.

A sweep directory holds::

    sweep.json          what defines the sweep (protocol, fixed options, axes);
                        a rerun with another grid into the same directory is refused
    cells/<cell>/       one ordinary run directory per cell, made by the protocol
    logs/<cell>.log     the cell's output (appended on every attempt)
    results.csv         one row per finished cell and metric (tidy)
    summary.csv         the main metric per combination of the non-seed axes:
                        mean, standard deviation and count over seeds
    figure.png          the main metric against each swept axis

Each cell runs ``python <protocol> OPTIONS --out cells/<cell>`` (plus
``--resume`` once the cell has a ``run.json``) in a process started by a Dask
worker.  A finished cell (its ``metrics.json`` written) is never run again; a
cell whose worker dies is retried on another worker and continues from its
checkpoint (the dead worker's cell is stopped as on Ctrl-C; the new attempt
waits for its run lock).  By default the cells run on a
:class:`~distributed.LocalCluster` of one single-threaded worker process per
core; ``scheduler="tcp://HOST:8786"`` uses an existing cluster whose workers
see the same ``out`` folder.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from bioplastic.sweep.spec import SweepError, find_protocol

__all__ = ["CellFailed", "is_finished", "check_cells", "check_grid", "run_cell", "run_cells", "run_sweep"]

#: Exit status when the sweep was stopped by Ctrl-C (rerun the command to continue).
EXIT_INTERRUPTED = 130


class CellFailed(RuntimeError):
    """A cell's protocol exited with an error status (the message holds its output's tail)."""


def is_finished(cell_dir):
    """Whether the run directory *cell_dir* holds a finished run (``metrics.json``, status not unfinished)."""
    from bioplastic.runs import read_json

    cell_dir = Path(cell_dir)
    if not (cell_dir / "metrics.json").exists():
        return False
    record = cell_dir / "run.json"
    if record.exists():
        try:
            status = read_json(record).get("status")
        except (OSError, ValueError):
            return False
        return status in (None, "finished")
    return True


def _lock_cell(lock_path, timeout):
    """An open descriptor holding the cell's attempt lock (waits up to *timeout* s for an earlier attempt).

    The descriptor is handed to the cell's process, so the lock lasts as long
    as the cell runs, even when the worker that started it has died: a retry
    waits until the orphaned attempt has written its checkpoint and stopped.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise CellFailed(f"{lock_path}: an earlier attempt still runs after {timeout:.0f} s") from None
            time.sleep(0.5)


def _cell_env():
    """The environment of a cell: this worker's bioplastic first on the path, one thread per library."""
    import bioplastic

    env = dict(os.environ)
    root = str(Path(bioplastic.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(name, "1")
    env.pop("BIOPLASTIC_CHECK_OPTIONS", None)
    return env


def run_cell(script, argv, cell_dir, log_path, lock_wait=600.0):
    """Run one cell to its end (on a worker); the cell's summary dict, or :class:`CellFailed`.

    Skips a finished cell, waits for an earlier attempt that is still stopping
    (``logs/<cell>.lock``), and adds ``--resume`` when the cell has a ``run.json``.
    """
    cell_dir, log_path = Path(cell_dir), Path(log_path)
    if is_finished(cell_dir):
        return {"cell": cell_dir.name, "seconds": 0.0, "skipped": True}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = _lock_cell(log_path.with_suffix(".lock"), lock_wait)
    try:
        if is_finished(cell_dir):           # an earlier attempt finished while we waited
            return {"cell": cell_dir.name, "seconds": 0.0, "skipped": True}
        resume = (cell_dir / "run.json").exists()
        cmd = [sys.executable, "-m", "bioplastic.sweep._cell", str(script), *argv, "--out", str(cell_dir)]
        if resume:
            cmd.append("--resume")
        t0 = time.perf_counter()
        with open(log_path, "ab") as log:
            log.write(f"\n[sweep] {time.strftime('%Y-%m-%d %H:%M:%S')} on {os.uname().nodename} "
                      f"worker pid {os.getpid()}: {' '.join(cmd)}\n".encode())
            log.flush()
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=_cell_env(), pass_fds=(fd,))
    finally:
        os.close(fd)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not is_finished(cell_dir):
        tail = log_path.read_bytes()[-600:].decode("utf-8", "replace").strip().splitlines()
        raise CellFailed(f"{cell_dir.name}: exit status {proc.returncode} after {seconds:.0f} s; "
                         f"last output: {' | '.join(tail[-4:])} (all of it: {log_path})")
    return {"cell": cell_dir.name, "seconds": seconds, "skipped": False, "resumed": resume}


# ------------------------------------------------------------------------------------- checks

def check_grid(out, spec):
    """Write ``sweep.json``, or refuse a directory that holds a sweep with another definition."""
    from bioplastic.runs import read_json, write_json

    path = Path(out) / "sweep.json"
    mine = spec.record()
    if path.exists():
        try:
            old = read_json(path)
        except (OSError, ValueError) as err:
            raise SweepError(f"{path} is unreadable ({err}); use another --out") from None
        if old != mine:
            diff = []
            for section in sorted(set(old) | set(mine)):
                a, b = old.get(section), mine.get(section)
                if isinstance(a, dict) and isinstance(b, dict):
                    diff += [f"{section}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
                elif a != b:
                    diff.append(section)
            raise SweepError(f"{out} holds a sweep with a different definition (differs in: "
                             f"{', '.join(diff)}); use another --out, or the spec it was made with")
    else:
        write_json(path, mine)


def _probe_cells(cells):
    """The first cell and, per axis value, one cell that differs from it in that value only."""
    if not cells:
        return []
    first = cells[0]
    probes = [first]
    for cell in cells[1:]:
        differing = [k for k in cell.values if cell.values[k] != first.values[k]]
        if len(differing) == 1:
            probes.append(cell)
    return probes


def check_cells(spec, cells, script):
    """Parse every distinct option value with the protocol's own parser; :class:`SpecError` names the field."""
    import re
    import tempfile

    from bioplastic.sweep.spec import SpecError

    env = _cell_env()
    with tempfile.TemporaryDirectory() as tmp:
        for cell in _probe_cells(cells):
            cmd = [sys.executable, "-m", "bioplastic.sweep._cell", "--check", str(script), *cell.argv(),
                   "--out", str(Path(tmp) / "check")]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
            if proc.returncode == 0:
                continue
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            message = lines[-1] if lines else f"exit status {proc.returncode}"
            message = re.sub(r"^[\w.-]+: error: ", "", message)
            options = re.findall(r"--([a-z0-9][a-z0-9-]*)", message)
            field = next((spec.field_of(o) for o in options if spec.field_of(o)), None)
            where = field or f"cell {cell.name}"
            raise SpecError(f"{spec.source}: {where}: {Path(script).name} refuses it: {message}")


# ------------------------------------------------------------------------------------- running

def _dashboard(client):
    try:
        import bokeh  # noqa: F401  (the dashboard needs it)
    except ImportError:
        return None
    return getattr(client, "dashboard_link", None)


def _client(scheduler, workers, log):
    """A Dask client: on *scheduler* if given, else on a new LocalCluster (one process per worker)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler} ({err})") from None
        return client, None
    try:
        import bokeh  # noqa: F401
        dashboard = ":0"
    except ImportError:
        dashboard = None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=dashboard, silence_logs=40)
    return Client(cluster), cluster


def run_cells(cells, out, script, scheduler=None, workers=None, retries=2, lock_wait=600.0,
              log=print, on_finished=None):
    """Run the cells of *cells* not yet finished; ``(finished, failed)`` lists of cell names.

    Parameters
    ----------
    cells : list of Cell
    out : path of the sweep directory (cells go to ``out/cells/<name>``)
    script : path of the protocol script each cell runs
    scheduler : str, optional
        Address of a running Dask scheduler; default: a LocalCluster on this machine.
    workers : int, optional
        Workers of the LocalCluster (default: the number of cores).
    retries : int
        Further attempts for a cell that fails (its worker dies, or the protocol exits with an error).
    log : callable(str)
    on_finished : callable(cell name), optional
        Called after each cell that finishes (e.g. to update the tables).
    """
    from dask.distributed import as_completed

    out = Path(out)
    todo = [c for c in cells if not is_finished(out / "cells" / c.name)]
    finished = [c.name for c in cells if c not in todo]
    failed = []
    if not todo:
        log(f"[sweep] {len(cells)} cells: {len(finished)} finished, 0 to run")
        return finished, failed
    client, cluster = _client(scheduler, workers, log)
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        link = _dashboard(client)
        log(f"[sweep] {len(cells)} cells: {len(finished)} finished, {len(todo)} to run on "
            f"{n_workers} Dask workers ({'scheduler ' + scheduler if scheduler else 'LocalCluster'})"
            + (f"; dashboard {link}" if link else ""))
        futures = {}
        for cell in todo:
            fut = client.submit(run_cell, str(script), cell.argv(), str(out / "cells" / cell.name),
                                str(out / "logs" / f"{cell.name}.log"), lock_wait,
                                key=f"bioplastic-cell-{cell.name}-{os.getpid()}-{time.time_ns()}",
                                retries=retries, pure=False)
            futures[fut] = cell
        for fut in as_completed(futures):
            cell = futures[fut]
            try:
                result = fut.result()
            except Exception as err:  # noqa: BLE001 - a cell's failure is reported, the sweep goes on
                failed.append(cell.name)
                log(f"[sweep] FAILED {cell.name}: {err}")
            else:
                finished.append(cell.name)
                how = " (resumed)" if result.get("resumed") else ""
                log(f"[sweep] finished {cell.name} in {result['seconds']:.0f} s{how}")
                if on_finished is not None:
                    on_finished(cell.name)
            running = len(cells) - len(finished) - len(failed)
            log(f"[sweep] {len(finished)}/{len(cells)} done, {running} running or queued, {len(failed)} failed")
    except KeyboardInterrupt:
        log("[sweep] interrupted: stopping the cells (each keeps its checkpoint); "
            "run the same command again to continue")
        _close(client, cluster)
        raise
    _close(client, cluster)
    return finished, failed


def _close(client, cluster):
    try:
        client.close(timeout=30)
    except Exception:  # noqa: BLE001 - closing is best effort
        pass
    if cluster is not None:
        try:
            cluster.close(timeout=60)
        except Exception:  # noqa: BLE001
            pass


def run_sweep(spec, out, scheduler=None, workers=None, retries=2, lock_wait=600.0, log=print, figure=True):
    """Check *spec*, run its missing cells into *out*, gather the tables; the exit status.

    0 when every cell has finished, 1 when some failed (rerun to retry them).
    Raises :class:`~bioplastic.sweep.spec.SpecError` for a bad spec and
    :class:`~bioplastic.sweep.spec.SweepError` for a directory holding another sweep.
    """
    from bioplastic.sweep.tables import collect

    out = Path(out)
    script = find_protocol(spec.protocol, spec.source)
    cells = spec.cells()
    check_cells(spec, cells, script)
    out.mkdir(parents=True, exist_ok=True)
    check_grid(out, spec)
    t0 = time.perf_counter()
    finished, failed = run_cells(cells, out, script, scheduler=scheduler, workers=workers, retries=retries,
                                 lock_wait=lock_wait, log=log,
                                 on_finished=lambda name: collect(out, spec, cells, figure=False))
    table, summary = collect(out, spec, cells, figure=figure)
    log(f"[sweep] {len(finished)}/{len(cells)} cells finished, {len(failed)} failed "
        f"({time.perf_counter() - t0:.0f} s); tables in {out}")
    if not summary.empty:
        log(summary.to_string(index=False))
    return 1 if failed else 0
