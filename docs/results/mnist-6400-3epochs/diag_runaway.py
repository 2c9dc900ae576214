"""Replay test windows of a finished sym-STDP run with spike monitors (runtime mode, learning off).

    python docs/results/mnist-6400-3epochs/diag_runaway.py RUN_DIR 25,0 [--data-dir DIR]

Prints, per test sample, the hidden and inhibitory spikes per 5 ms bin and how
many hidden neurons fire in the first 0.5 ms, 2 ms and 5 ms after the first
spike (session 7: the synchronous volleys of the N_E = 6400 run).
"""
import argparse
import json
from pathlib import Path

import numpy as np
from brian2 import SpikeMonitor, ms
from brian2.devices import reinit_and_delete

from bioplastic.data import datasets
from bioplastic.symstdp import params as P
from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.training import phase_start_state, pixel_rates

ap = argparse.ArgumentParser()
ap.add_argument("run")
ap.add_argument("samples", help="comma-separated test sample indices")
ap.add_argument("--data-dir", default=None)
a = ap.parse_args()
run = Path(a.run)
cfg = json.loads((run / "run.json").read_text())["config"]
params = P.model_params(cfg["dataset"], cfg["n_hidden"], cfg.get("parameter_set", "paper"))
ck = np.load(run / "checkpoint" / "checkpoint.npz")
state = {k[len("state/"):]: ck[k] for k in ck.files if k.startswith("state/")}
x, y = datasets.load_dataset(cfg["dataset"], "test", data_dir=a.data_dir)
for i in (int(s) for s in a.samples.split(",")):
    reinit_and_delete()
    eng = Engine(params, device="runtime", chunk_size=1, seed=0, verbose=False, runtime_target="numpy")
    m = eng.model
    exc, inh = SpikeMonitor(m.excitatory), SpikeMonitor(m.inhibitory)
    m.net.add(exc, inh)
    start = phase_start_state(eng, {k: np.asarray(state[k]) for k in eng.initial_state()})
    eng.run_chunk(start, pixel_rates(np.asarray(x[i])[None], params.input), np.array([y[i]]),
                  learning=False, seed=0)
    t = np.asarray(exc.t / ms)
    bins = np.arange(0, 501, 5)
    print(f"sample {i} label {y[i]}: {len(t)} hidden spikes, {len(inh.t)} inhibitory spikes")
    print(" hidden per 5 ms:", np.histogram(t, bins)[0][:72].tolist())
    print(" inhibitory per 5 ms:", np.histogram(np.asarray(inh.t / ms), bins)[0][:72].tolist())
    if len(t):
        t0 = t.min()
        print(f" first spike at {t0} ms; hidden spikes within 0.5 ms: {(t < t0 + 0.25).sum()}, "
              f"2 ms: {(t < t0 + 2).sum()}, 5 ms: {(t < t0 + 5).sum()}")
