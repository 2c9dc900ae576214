"""Training and evaluation phases over an :class:`~bioplastic.symstdp.device.engine.Engine`, chunk by chunk.

Python runs once per chunk of K windows, never per sample: it slices the next
samples' rates and labels, calls :meth:`Engine.run_chunk`, and books the
windows the model reports.  Which windows completed a sample (and which were
re-presentations) is decided inside the model by the controller
(:mod:`bioplastic.symstdp.schedule`); this module only reads the pointer sequence.

A phase over ``n`` samples starts each chunk at the first sample not yet
completed.  When fewer than K samples remain, the chunk is padded with blank
samples (zero rates, label -1: no input, no teacher); their windows are
ignored.  During idle padded windows nothing spikes, so weights do not change;
only theta's slow decay goes on (factor ``exp(-t_window / tau_theta)``, about
0.99992 per window at tau_theta = 6000 s).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["PhaseChunk", "pixel_rates", "iterate_phase", "run_phase", "PhaseResult",
           "phase_start_state", "evaluate", "run_population_phase", "evaluate_batched", "chunk_keys"]


def pixel_rates(images, input_params) -> np.ndarray:
    """Base Poisson rates (Hz, before the intensity factor) of flattened images.

    Parameters
    ----------
    images : ndarray, (n, 28, 28) or (n, 784)
        Pixel values (uint8 or float, e.g. mean-normalised Fashion-MNIST).
    input_params : bioplastic.symstdp.params.InputParams

    Returns
    -------
    ndarray, float (n, n_pixels), in Hz
    """
    from brian2 import Hz

    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images must have shape (n, ...), got {images.shape}")
    flat = images.reshape(images.shape[0], -1).astype(float)
    if np.any(flat < 0) or not np.all(np.isfinite(flat)):
        raise ValueError("pixel values must be finite and non-negative")
    return flat * float(input_params.rate_per_pixel / Hz)


def phase_start_state(engine, state) -> dict:
    """Copy of ``state`` ready to start a phase: input intensity back at its initial value.

    The padding windows that end a phase (blank samples, shown again and
    again) leave the intensity raised; a new phase starts from
    ``intensity_init``.
    """
    from bioplastic.symstdp.network import state_key

    state = dict(state)
    key = state_key(engine.model.controller, "intensity")
    state[key] = np.full_like(state[key], engine.params.input.intensity_init)
    if "n_shown" in engine.model.controller.variables:        # independent evaluation
        # (also for a state made without it: a sequential run's checkpoint)
        state[state_key(engine.model.controller, "n_shown")] = np.zeros(len(engine.model.controller),
                                                                        dtype=np.int64)
    return state


@dataclass
class PhaseChunk:
    """Samples completed by one chunk.

    Attributes
    ----------
    sample : ndarray of int
        Indices (into the phase's sample arrays) of the completed samples.
    hidden_counts, label_counts : ndarray of int
        Spike counts of each completed sample's final (accepted) presentation.
    n_presentations : ndarray of int
        Presentations each sample needed (1 = accepted at once).
    intensity : ndarray
        Intensity of the accepted presentation.
    n_windows : int
        Windows the chunk simulated (K).
    position : int
        First sample not completed after this chunk.
    wall_seconds : float
    """

    sample: np.ndarray
    hidden_counts: np.ndarray
    label_counts: np.ndarray
    n_presentations: np.ndarray
    intensity: np.ndarray
    n_windows: int
    position: int
    wall_seconds: float


def iterate_phase(engine, state, rates_hz, labels, learning, seed_of_chunk, start=0,
                  carried_presentations=0, sample_ids=None):
    """Run a phase chunk by chunk, yielding ``(state, PhaseChunk)`` after each chunk.

    Parameters
    ----------
    engine : bioplastic.symstdp.device.engine.Engine
    state : dict
        State to start from (not modified).
    rates_hz : ndarray, (n, n_input)
        From :func:`pixel_rates`.
    labels : ndarray of int, (n,)
    learning : bool or "label"
        See :meth:`bioplastic.symstdp.device.engine.Engine.run_chunk`.
    seed_of_chunk : callable
        ``seed_of_chunk(i)`` gives the seed of the i-th chunk of this phase.
    start : int
        First sample (for resuming a phase).
    carried_presentations : int
        Presentations the sample at ``start`` already had (resuming).
    sample_ids : ndarray of int, (n,), optional
        The samples' identities (e.g. their indices in the data set), which key
        their random numbers under ``Engine(evaluation="independent")``;
        default ``0..n-1``.

    Yields
    ------
    state : dict
    chunk : PhaseChunk
    """
    K = engine.chunk_size
    n = len(labels)
    if start == 0:
        state = phase_start_state(engine, state)
    if rates_hz.shape[0] != n:
        raise ValueError("rates and labels differ in length")
    independent = getattr(engine, "evaluation", "sequential") == "independent"
    ids_all = np.arange(n) if sample_ids is None else np.asarray(sample_ids, dtype=np.int64)
    if ids_all.shape != (n,):
        raise ValueError(f"sample_ids must have shape ({n},), got {ids_all.shape}")
    pos = int(start)
    carry = int(carried_presentations)
    i_chunk = 0
    n_input = rates_hz.shape[1]
    while pos < n:
        n_valid = min(K, n - pos)
        rates = np.zeros((K, n_input))
        rates[:n_valid] = rates_hz[pos:pos + n_valid]
        lab = np.full(K, -1, dtype=np.int64)
        lab[:n_valid] = labels[pos:pos + n_valid]
        keys = {}
        if independent:
            keys["sample_ids"] = np.zeros(K, dtype=np.int64)
            keys["sample_ids"][:n_valid] = ids_all[pos:pos + n_valid]
        state, res = engine.run_chunk(state, rates, lab, learning, seed_of_chunk(i_chunk), **keys)
        chunk, carry = _completed(res, pos, n_valid, carry, K)
        pos = chunk.position
        i_chunk += 1
        yield state, chunk


def _completed(res, pos, n_valid, carry, n_windows):
    """The samples a chunk completed (:class:`PhaseChunk`) and the presentations carried over.

    ``res`` is the chunk's :class:`~bioplastic.symstdp.device.engine.ChunkResult`, whose
    first ``n_valid`` rows were the samples from ``pos`` on; ``carry`` is the number of
    presentations the sample at ``pos`` had before the chunk.
    """
    valid = res.ptr < n_valid
    shown = np.bincount(res.ptr[valid], minlength=n_valid)[:n_valid]
    shown[0] += carry
    done = res.accepted & valid
    local = res.ptr[done]
    n_done = min(res.ptr_end, n_valid)
    chunk = PhaseChunk(
        sample=pos + local,
        hidden_counts=res.hidden_counts[done],
        label_counts=res.label_counts[done],
        n_presentations=shown[local],
        intensity=res.intensity[done],
        n_windows=n_windows,
        position=pos + n_done,
        wall_seconds=res.wall_seconds,
    )
    return chunk, (int(shown[n_done]) if n_done < n_valid else 0)


@dataclass
class PhaseResult:
    """Per-sample results of a whole phase (all arrays ordered by sample)."""

    hidden_counts: np.ndarray
    label_counts: np.ndarray
    n_presentations: np.ndarray
    intensity: np.ndarray
    n_windows: int
    wall_seconds: float

    @classmethod
    def empty(cls, n, n_hidden, n_classes):
        """A result for ``n`` samples, filled by :meth:`add`."""
        return cls(np.zeros((n, n_hidden), dtype=np.uint16), np.zeros((n, n_classes), dtype=np.uint16),
                   np.zeros(n, dtype=np.int64), np.zeros(n), 0, 0.0)

    def add(self, chunk):
        """Book a :class:`PhaseChunk`'s completed samples (counts capped at 65535)."""
        self.hidden_counts[chunk.sample] = np.minimum(chunk.hidden_counts, 65535)
        self.label_counts[chunk.sample] = np.minimum(chunk.label_counts, 65535)
        self.n_presentations[chunk.sample] = chunk.n_presentations
        self.intensity[chunk.sample] = chunk.intensity
        self.n_windows += chunk.n_windows


def run_phase(engine, state, rates_hz, labels, learning, seed_of_chunk, progress=None, sample_ids=None):
    """Run a whole phase and collect per-sample counts.

    Parameters
    ----------
    engine, state, rates_hz, labels, learning, seed_of_chunk
        As for :func:`iterate_phase`.
    progress : callable, optional
        Called as ``progress(done, total, samples_per_second)`` after each chunk.
    sample_ids : ndarray of int, optional
        See :func:`iterate_phase`.

    Returns
    -------
    state : dict
    result : PhaseResult
    """
    n = len(labels)
    t0 = time.perf_counter()
    result = PhaseResult.empty(n, engine.params.n_hidden, engine.params.label.n_classes)
    for state, ch in iterate_phase(engine, state, rates_hz, labels, learning, seed_of_chunk,
                                   sample_ids=sample_ids):
        result.add(ch)
        if progress is not None:
            progress(ch.position, n, ch.position / max(time.perf_counter() - t0, 1e-9))
    result.wall_seconds = time.perf_counter() - t0
    return state, result


def _evaluate_block(params, options, state, rates_hz, labels, sample_ids):
    """One worker's block of an independent evaluation (runs in its own process)."""
    from bioplastic.symstdp.device.engine import Engine

    engine = Engine(params, verbose=False, **options)
    try:
        return run_phase(engine, state, rates_hz, labels, False, lambda i: 0, sample_ids=sample_ids)[1]
    finally:
        engine.close()


def evaluate(engine, state, rates_hz, labels, sample_ids, workers=1, progress=None):
    """Evaluate (learning off) under ``Engine(evaluation="independent")``, in ``workers`` processes.

    Each sample's spikes are a function of the frozen network, the sample,
    its identity and the Engine's seed, so the samples can be split into
    contiguous blocks evaluated at the same time: this process takes the
    first block with ``engine``, each other block goes to a process that
    builds the same Engine (same build folder: the compiled code is reused).
    The result is the same, sample for sample, as one ``run_phase`` over all.

    Parameters
    ----------
    engine : bioplastic.symstdp.device.engine.Engine
        Built with ``evaluation="independent"``.
    state : dict
    rates_hz, labels, sample_ids : ndarray
        As for :func:`iterate_phase` (``sample_ids`` required).
    workers : int
        Processes in all (this one included).
    progress : callable, optional
        ``progress(done, total, samples_per_second)`` for this process's block.

    Returns
    -------
    PhaseResult
        For all samples, in their order.
    """
    if getattr(engine, "population", None) is not None:
        raise ValueError("evaluate() takes a single network's Engine; a population Engine evaluates "
                         "through its copies with evaluate_batched()")
    if engine.evaluation != "independent":
        raise ValueError("evaluate() needs an Engine built with evaluation='independent' (only then is "
                         "a sample's result independent of the others)")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    n = len(labels)
    sample_ids = np.asarray(sample_ids, dtype=np.int64)
    bounds = np.linspace(0, n, min(int(workers), max(n, 1)) + 1).astype(int)
    if len(bounds) <= 2:
        return run_phase(engine, state, rates_hz, labels, False, lambda i: 0, progress, sample_ids)[1]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    options = engine.options()
    blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    with ProcessPoolExecutor(len(blocks) - 1, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_evaluate_block, engine.params, options, state, rates_hz[b], labels[b],
                               sample_ids[b]) for b in blocks[1:]]
        first = blocks[0]
        mine = run_phase(engine, state, rates_hz[first], labels[first], False, lambda i: 0, progress,
                         sample_ids[first])[1]
        parts = [mine] + [f.result() for f in futures]
    return PhaseResult(
        hidden_counts=np.concatenate([r.hidden_counts for r in parts]),
        label_counts=np.concatenate([r.label_counts for r in parts]),
        n_presentations=np.concatenate([r.n_presentations for r in parts]),
        intensity=np.concatenate([r.intensity for r in parts]),
        n_windows=int(sum(r.n_windows for r in parts)), wall_seconds=time.perf_counter() - t0)


def chunk_keys(seed, offset=0):
    """``keys(i) = chunk_seed(seed, offset + i)``: a copy's chunk keys, picklable (for ``workers``)."""
    return functools.partial(_chunk_key, int(seed), int(offset))


def _chunk_key(seed, offset, i):
    from bioplastic.symstdp.device.engine import chunk_seed

    return chunk_seed(seed, offset + i)


def _population_block(params, options, states, data, learning, seeds_of_chunk, eval_seeds):
    """One worker's copies of a population phase (runs in its own process)."""
    from bioplastic.symstdp.device.engine import Engine

    engine = Engine(params, verbose=False, **options)
    try:
        return run_population_phase(engine, states, data, learning, seeds_of_chunk, eval_seeds=eval_seeds)
    finally:
        engine.close()


def run_population_phase(engine, states, data, learning, seeds_of_chunk, progress=None, eval_seeds=None,
                         workers=1):
    """Run one phase of each of the P copies of a population Engine, each on its own samples.

    Every copy goes through its samples exactly as :func:`run_phase` would
    with a single network (``Engine(population=1)``): its chunks start at its
    first sample not completed and are padded when it has fewer than K left.
    The chunks are shared (K windows each); a copy that has finished waits in
    blank windows until all have, and its state is the one at its last chunk
    -- so copy ``c`` ends exactly as a single run with ``states[c]``,
    ``data[c]`` and ``seeds_of_chunk[c]`` (``tests/test_population.py``).

    Parameters
    ----------
    engine : bioplastic.symstdp.device.engine.Engine
        Built with ``population=P``.
    states : sequence of dict
        The P copies' states to start from (single networks' states).
    data : sequence of (rates_hz, labels, sample_ids)
        Each copy's samples: ``(n_c, n_input)`` rates in Hz, ``(n_c,)`` labels
        and ``(n_c,)`` identities (or None: ``0..n_c-1``).
    learning : bool or "label"
        See :meth:`~bioplastic.symstdp.device.engine.Engine.run_chunk`.
    seeds_of_chunk : sequence of callable
        ``seeds_of_chunk[c](i)``: the key of copy ``c``'s random numbers in
        its i-th chunk of this phase (e.g. ``chunk_seed(seed_c, offset + i)``).
    progress : callable, optional
        ``progress(done, total, samples_per_second)`` after each chunk, over all copies.
    eval_seeds : sequence of int, optional
        Seeds of the evaluation's keyed numbers (default: the Engine's ``seeds``).
    workers : int
        Processes in all (this one included): the copies are split into
        ``workers`` contiguous groups, each run by a population Engine of its
        own (the same options, its group's seeds) -- the same results, copy
        for copy, on several cores (OpenMP threads do not pay at these sizes:
        ``docs/performance.rst``).  ``seeds_of_chunk`` must then be picklable
        (:func:`chunk_keys`).

    Returns
    -------
    states : list of dict
        Each copy's state at the end of its phase.
    results : list of PhaseResult
    """
    P = engine.population
    if P is None:
        raise ValueError("run_population_phase needs an Engine built with population=P")
    if len(states) != P or len(data) != P or len(seeds_of_chunk) != P:
        raise ValueError(f"{P} states, data sets and chunk seed functions needed, got "
                         f"{len(states)}, {len(data)}, {len(seeds_of_chunk)}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    eval_seeds = list(engine.seeds if eval_seeds is None else eval_seeds)
    if min(int(workers), P) > 1:
        return _population_in_processes(engine, states, data, learning, seeds_of_chunk, progress,
                                        eval_seeds, min(int(workers), P))
    K, n_e = engine.chunk_size, engine.params.n_hidden
    n_lab = engine.params.label.n_classes
    rates_all, labels_all, ids_all = [], [], []
    for rates, labels, ids in data:
        rates, labels = np.asarray(rates, dtype=float), np.asarray(labels)
        n = len(labels)
        if rates.shape != (n, engine.params.n_input):
            raise ValueError(f"rates of shape {rates.shape} for {n} labels")
        ids = np.arange(n) if ids is None else np.asarray(ids, dtype=np.int64)
        if ids.shape != (n,):
            raise ValueError(f"sample_ids must have shape ({n},), got {ids.shape}")
        rates_all.append(rates)
        labels_all.append(labels)
        ids_all.append(ids)
    sizes = [len(lab) for lab in labels_all]
    total = sum(sizes)
    out = [PhaseResult.empty(n, n_e, n_lab) for n in sizes]
    state = phase_start_state(engine, engine.join_states(states))
    final = [None] * P
    pos, carry = [0] * P, [0] * P
    for c in range(P):
        if sizes[c] == 0:
            final[c] = engine.split_state(state)[c]
    i_chunk = 0
    t0 = time.perf_counter()
    n_input = engine.params.n_input
    while any(f is None for f in final):
        rates = np.zeros((K, P, n_input))
        lab = np.full((K, P), -1, dtype=np.int64)
        ids = np.zeros((K, P), dtype=np.int64)
        keys = np.zeros(P, dtype=np.int64)
        n_valid = [0] * P
        for c in range(P):
            if final[c] is None:
                n_valid[c] = m = min(K, sizes[c] - pos[c])
                rates[:m, c] = rates_all[c][pos[c]:pos[c] + m]
                lab[:m, c] = labels_all[c][pos[c]:pos[c] + m]
                ids[:m, c] = ids_all[c][pos[c]:pos[c] + m]
                keys[c] = int(seeds_of_chunk[c](i_chunk)) % (2**31)
        state, results = engine.run_population_chunk(state, rates, lab, learning, keys, ids, eval_seeds)
        copies = None
        for c, res in enumerate(results):
            if final[c] is not None:
                continue
            chunk, carry[c] = _completed(res, pos[c], n_valid[c], carry[c], K)
            out[c].add(chunk)
            pos[c] = chunk.position
            if pos[c] >= sizes[c]:
                copies = engine.split_state(state) if copies is None else copies
                final[c] = copies[c]
        i_chunk += 1
        if progress is not None:
            done_all = sum(pos)
            progress(done_all, total, done_all / max(time.perf_counter() - t0, 1e-9))
    wall = time.perf_counter() - t0
    for r in out:
        r.wall_seconds = wall
    return final, out


def _population_in_processes(engine, states, data, learning, seeds_of_chunk, progress, eval_seeds, workers):
    """The copies split into ``workers`` groups, each run in a process of its own (this process
    waits: building a network here would retire the caller's Engine, Brian2's device being global)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    P = engine.population
    bounds = np.linspace(0, P, workers + 1).astype(int)
    groups = [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    options = engine.options()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = []
        for g in groups:
            # a group is a population of its own size: another network, in the default build cache
            opts = dict(options, population=len(g), seeds=[engine.seeds[c] for c in g], build_dir=None)
            futures.append(pool.submit(_population_block, engine.params, opts, [states[c] for c in g],
                                       [data[c] for c in g], learning, [seeds_of_chunk[c] for c in g],
                                       [eval_seeds[c] for c in g]))
        parts = [f.result() for f in futures]
    if progress is not None:
        total = sum(len(d[1]) for d in data)
        progress(total, total, total / max(time.perf_counter() - t0, 1e-9))
    return ([st for part in parts for st in part[0]], [r for part in parts for r in part[1]])


def evaluate_batched(engine, state, rates_hz, labels, sample_ids, seed=None, progress=None):
    """Evaluate one frozen network on P samples at once, through the P copies of a population Engine.

    The samples are split into P contiguous blocks; copy ``c`` of the network
    (all copies the same frozen ``state``) evaluates block ``c``.  Each
    sample's spikes are keyed by its identity and ``seed``, so the result is the
    same, sample for sample, as :func:`run_phase` with
    ``Engine(evaluation="independent", seed=seed)``
    (``tests/test_population.py``).

    Parameters
    ----------
    engine : bioplastic.symstdp.device.engine.Engine
        Built with ``population=P``.
    state : dict
        One network's state (e.g. a trained run's).
    rates_hz, labels, sample_ids : ndarray
        As for :func:`iterate_phase`.
    seed : int, optional
        Seed of the evaluation's keyed numbers; default the Engine's seeds if
        they are all equal.
    progress : callable, optional

    Returns
    -------
    PhaseResult
        For all samples, in their order.
    """
    P = engine.population
    if P is None:
        raise ValueError("evaluate_batched needs an Engine built with population=P")
    if seed is None:
        if len(set(engine.seeds)) != 1:
            raise ValueError(f"evaluate_batched: the Engine's copies have different seeds {engine.seeds}; "
                             "name the evaluation's seed (seed=...)")
        seed = engine.seeds[0]
    n = len(labels)
    sample_ids = np.asarray(sample_ids, dtype=np.int64)
    bounds = np.linspace(0, n, P + 1).astype(int)
    blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    data = [(rates_hz[b], labels[b], sample_ids[b]) for b in blocks]
    t0 = time.perf_counter()
    _, parts = run_population_phase(engine, [state] * P, data, False, [lambda i: 0] * P, progress,
                                    eval_seeds=[int(seed)] * P)
    return PhaseResult(
        hidden_counts=np.concatenate([r.hidden_counts for r in parts]),
        label_counts=np.concatenate([r.label_counts for r in parts]),
        n_presentations=np.concatenate([r.n_presentations for r in parts]),
        intensity=np.concatenate([r.intensity for r in parts]),
        n_windows=int(parts[0].n_windows), wall_seconds=time.perf_counter() - t0)
