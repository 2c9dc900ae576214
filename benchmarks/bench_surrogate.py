#!/usr/bin/env python
"""Time one training epoch of the surrogate-gradient network, side by side with snnTorch.

Both columns train the Randman-sized network (20 inputs -> 100 hidden LIF ->
10 non-spiking readout units, 100 steps, max-over-time cross-entropy, Adam,
batch 250, one epoch = 8000 samples of random input spikes) on one CPU thread
in the same process:

* ``bioplastic``: :class:`bioplastic.gradient.lif.SpikingNetwork` (SuperSpike);
* ``snntorch``: ``snntorch.Synaptic`` layers (hidden: reset to zero, fast-sigmoid
  surrogate with slope 10; readout: ``reset_mechanism="none"``).  snnTorch's
  map has no ``(1 - b)`` input factor and feeds the new current into the
  membrane within the step, so it is the same network size and structure,
  not the identical map.

snnTorch is not a dependency of bioplastic; install it by hand to get its
column (``pip install snntorch``); without it the column is skipped.

Usage::

    python benchmarks/bench_surrogate.py [--repeats 3] [--samples 8000] [--threads 1]
"""

import argparse
import importlib.util
import math
import statistics
import time

import torch


def _epoch(model_step, x, y, batch_size):
    t0 = time.perf_counter()
    for start in range(0, len(x), batch_size):
        model_step(x[start:start + batch_size], y[start:start + batch_size])
    return time.perf_counter() - t0


def bioplastic_step_fn():
    from bioplastic.gradient import lif

    net = lif.SpikingNetwork(lif.LIFParams(), surrogate="superspike", beta=10.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = lif.MaxOverTimeLoss()

    def step(x, y):
        loss = loss_fn(net, x, y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def snntorch_step_fn():
    import snntorch as snn
    from snntorch import surrogate

    b_mem, b_syn, b_out = math.exp(-0.1), math.exp(-0.2), math.exp(-0.05)
    fc1 = torch.nn.Linear(20, 100, bias=False)
    fc2 = torch.nn.Linear(100, 10, bias=False)
    lif1 = snn.Synaptic(alpha=b_syn, beta=b_mem, spike_grad=surrogate.fast_sigmoid(slope=10),
                        reset_mechanism="zero")
    lif2 = snn.Synaptic(alpha=b_syn, beta=b_out, reset_mechanism="none")
    params = list(fc1.parameters()) + list(fc2.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)

    def step(x, y):
        syn1, mem1 = lif1.init_synaptic()
        syn2, mem2 = lif2.init_synaptic()
        mems = []
        cur1 = fc1(x)
        for n in range(x.shape[1]):
            spk1, syn1, mem1 = lif1(cur1[:, n], syn1, mem1)
            _, syn2, mem2 = lif2(fc2(spk1), syn2, mem2)
            mems.append(mem2)
        logits = torch.stack(mems, 1).max(1).values
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--samples", type=int, default=8000)
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.samples, 100, 20, generator=g) < 0.01).float()
    y = torch.randint(0, 10, (args.samples,), generator=g)
    columns = {"bioplastic": bioplastic_step_fn}
    if importlib.util.find_spec("snntorch") is not None:
        columns["snntorch"] = snntorch_step_fn
    else:
        print("snntorch not installed: its column is skipped (pip install snntorch)")
    times = {name: [] for name in columns}
    steps = {name: fn() for name, fn in columns.items()}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        for name, step in steps.items():
            times[name].append(_epoch(step, x, y, args.batch_size))
    print(f"one epoch: {args.samples} samples, batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {args.repeats}")
    base = statistics.median(times["bioplastic"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:11s} {med:7.2f} s   (ratio to bioplastic {med / base:.2f}; all: "
              + ", ".join(f"{t:.2f}" for t in ts) + ")")


if __name__ == "__main__":
    main()
