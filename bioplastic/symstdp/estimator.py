"""The sym-STDP network as a scikit-learn estimator: fit on arrays, predict, transform, pipelines.

:class:`SymSTDPClassifier` trains the supervised network of Hao et al.
(2020) on images given as arrays, with the same engine, equations and
schedule as the protocols (``protocols/supervised_*.py``)::

    from bioplastic import SymSTDPClassifier
    clf = SymSTDPClassifier(n_hidden=100, epochs=1).fit(x_train, y_train)
    clf.score(x_test, y_test)                 # label-layer readout
    clf.transform(x_test)                     # hidden-layer spike counts (a feature stage)

The fitted network is held as plain arrays (weights, thresholds, every state
variable), so an estimator pickles, clones and runs in other processes.
Brian2's device is global: one compiled network runs per process at a time;
an estimator whose network is not the one currently built builds it again
when it next runs (the compiled code is reused when the network's structure
is the same, e.g. estimators differing only in their seed share one build).
"""

from __future__ import annotations

import gc
import json

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from bioplastic._estimators import (check_choice, check_positive_ints, check_seed, check_two_classes,
                                    new_run_directory, validate_images)

__all__ = ["SymSTDPClassifier", "SpikeRecord", "VARIANTS", "READOUTS"]

#: The paper's parameter tables, by data set (``model_params(variant, n_hidden, parameter_set)``).
VARIANTS = ("mnist", "fashion-mnist")
#: How :meth:`SymSTDPClassifier.predict` reads the network out.
READOUTS = ("supervised", "assignment")

# the network built in this process: (configuration, Engine)
_BUILT = {"config": None, "engine": None}


def _engine_for(params, device, chunk_size, threads, float32, verbose, net_model=None, evaluation="sequential"):
    """The Engine of *params*: the one built last if it fits and is still current, else a new one."""
    from bioplastic.symstdp.device.engine import Engine
    from bioplastic.symstdp.models import HAO_2020
    from bioplastic.symstdp.params import params_as_strings

    net_model = HAO_2020 if net_model is None else net_model
    config = (json.dumps(params_as_strings(params), sort_keys=True, default=str), device,
              int(chunk_size), int(threads), bool(float32), json.dumps(net_model.to_dict(), sort_keys=True),
              evaluation)
    engine = _BUILT["engine"]
    if engine is not None and _BUILT["config"] == config and engine.is_current():
        return engine
    # forget the old network first: Brian2 then reuses its object names, so the
    # generated code (and the compiled objects in the build folder) stay the same
    _BUILT.update(config=None, engine=None)
    if engine is not None:
        engine.close()
    del engine
    gc.collect()
    engine = Engine(params, device=device, chunk_size=chunk_size, threads=threads, float32=float32,
                    seed=0, verbose=verbose, runtime_target="numpy" if device == "runtime" else "cython",
                    evaluation=evaluation, **net_model.engine_kwargs())
    _BUILT.update(config=config, engine=engine)
    return engine


class SpikeRecord:
    """The spikes of a few samples (:meth:`SymSTDPClassifier.spikes`), per layer and sample.

    Attributes
    ----------
    trains : dict
        ``{layer: [(neuron indices, times in ms from the onset of the sample's
        accepted presentation), ...]}`` for the layers ``"input"``,
        ``"hidden"``, ``"inhibitory"``, ``"label"``, one pair per sample.
    sizes : dict
        Neurons per layer.
    t_present_ms, t_window_ms : float
        Presentation and whole window (presentation + rest), in ms.
    n_presentations : ndarray of int
        Presentations each sample needed (the last one is recorded here).
    """

    def __init__(self, trains, sizes, t_present_ms, t_window_ms, n_presentations):
        self.trains = trains
        self.sizes = sizes
        self.t_present_ms = t_present_ms
        self.t_window_ms = t_window_ms
        self.n_presentations = np.asarray(n_presentations)

    def __len__(self):
        return len(next(iter(self.trains.values())))

    def times(self, layer, sample, neuron):
        """Spike times of one neuron on one sample, as a Brian2 quantity."""
        from brian2 import ms

        i, t = self.trains[layer][sample]
        return t[i == neuron] * ms

    def to_neo(self, layers=("hidden", "label")):
        """A ``neo.Block``: one ``Segment`` per sample, one ``SpikeTrain`` per neuron of each layer.

        Each train is named ``"<layer>/<neuron>"``, carries ``layer`` and
        ``neuron`` annotations and spans the window (``t_stop`` = presentation
        + rest), so Elephant's analyses (rates, CV, correlations) apply.
        """
        import neo
        import quantities as pq

        block = neo.Block(name="bioplastic sym-STDP spikes")
        for sample in range(len(self)):
            seg = neo.Segment(name=f"sample {sample}", index=sample)
            for layer in layers:
                i, t = self.trains[layer][sample]
                for neuron in range(self.sizes[layer]):
                    seg.spiketrains.append(neo.SpikeTrain(
                        np.sort(t[i == neuron]) * pq.ms, t_start=0 * pq.ms, t_stop=self.t_window_ms * pq.ms,
                        name=f"{layer}/{neuron}", layer=layer, neuron=neuron))
            block.segments.append(seg)
        return block


class SymSTDPClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Supervised sym-STDP network (Hao et al. 2020) as a scikit-learn classifier and transformer.

    Poisson input (one neuron per pixel) -> excitatory/inhibitory hidden layer
    (sym-STDP, synaptic scaling, adaptive thresholds) -> label layer trained
    with a teacher signal.  Training is online: every sample is shown once
    per epoch, in the order given, and learned as it is shown.

    Parameters
    ----------
    n_hidden : int, default 100
        N_E, excitatory (and inhibitory) hidden neurons; the paper's sizes are
        100, 400, 1600 and 6400.
    variant : {"mnist", "fashion-mnist"}, default "mnist"
        Whose parameter table to use (``bioplastic.symstdp.params.model_params``);
        "fashion-mnist" also scales every image to mean pixel value 30, the
        authors' Fashion-MNIST preprocessing.
    parameter_set : {"paper", "learns"}, default "paper"
        The authors' values, or ours where theirs do not learn here.
    epochs : int, default 1
        Passes over the training samples in :meth:`fit`.
    readout : {"supervised", "assignment"}, default "supervised"
        :meth:`predict` by the label layer (the paper's supervised readout) or
        by the classes assigned to hidden neurons (Diehl & Cook 2015).
    device : {"cpp_standalone", "runtime", "cuda_standalone"}, default "cpp_standalone"
    float32 : bool, default False
    threads : int, default 1
        OpenMP threads (cpp_standalone).
    chunk_size : int, default 100
        Presentation windows per compiled run; Python runs once per chunk.
    seed : int, default 0
        Seed of the initial weights and of every chunk's Poisson input.
    overrides : dict, optional
        Parameter overrides as Brian2 quantities, e.g.
        ``{"label.teacher_rate": 100*Hz, "stdp_input.nu": 0.01}``
        (``bioplastic.symstdp.params.with_overrides``).
    verbose : bool, default False
        Build output and one progress line per epoch.
    model : str or NetworkModel, default "hao-2020"
        The equations the network is built from: a name of
        ``bioplastic.symstdp.models.MODELS`` ("hao-2020", "diehl-cook-2015")
        or a :class:`~bioplastic.symstdp.models.NetworkModel` with rules and
        a hidden neuron of your own (README, "Your own rule").
    evaluation : {"sequential", "independent"}, default "sequential"
        How :meth:`predict` and :meth:`transform` present images: one after
        the other, each starting where the one before left off (the
        protocols' test phase), or each on its own (keyed by the image's
        content, every window from rest): then the answer for an image does
        not depend on the other images, their order or the batch.

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen by :meth:`fit` (label neuron k stands for ``classes_[k]``).
    n_features_in_ : int
        Pixels per image (input neurons).
    state_ : dict of ndarray
        Every state variable of the trained network (weights, theta, potentials, traces).
    assignments_ : ndarray of int, (n_hidden,)
        Class index assigned to each hidden neuron (-1: never fired).
    n_samples_seen_ : int
        Training samples learned so far (over all epochs and :meth:`partial_fit` calls).
    """

    def __init__(self, n_hidden=100, variant="mnist", parameter_set="paper", epochs=1, readout="supervised",
                 device="cpp_standalone", float32=False, threads=1, chunk_size=100, seed=0, overrides=None,
                 verbose=False, model="hao-2020", evaluation="sequential"):
        self.n_hidden = n_hidden
        self.variant = variant
        self.parameter_set = parameter_set
        self.epochs = epochs
        self.readout = readout
        self.device = device
        self.float32 = float32
        self.threads = threads
        self.chunk_size = chunk_size
        self.seed = seed
        self.overrides = overrides
        self.verbose = verbose
        self.model = model
        self.evaluation = evaluation

    # ------------------------------------------------------------------ scikit-learn protocol
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True        # pixel values are rates
        tags.non_deterministic = False
        return tags

    def _check_hyperparameters(self):
        check_positive_ints(self, ("n_hidden", "epochs", "threads", "chunk_size"))
        check_seed(self)
        check_choice(self, "variant", VARIANTS)
        check_choice(self, "readout", READOUTS)
        check_choice(self, "device", ("cpp_standalone", "runtime", "cuda_standalone"))
        check_choice(self, "evaluation", ("sequential", "independent"))
        from bioplastic.symstdp.models import resolve_model

        resolve_model(self.model, self.variant, 1, self.parameter_set)   # a clear error for a bad model
        if self.overrides is not None and not isinstance(self.overrides, dict):
            raise ValueError(f"overrides must be a dict {{'table.field': quantity}}, got {self.overrides!r}")

    def _images(self, X, reset, y=None):
        """Validated images as float (n, n_pixels), and y if given."""
        checked = validate_images(self, X, reset, y)
        X_arr, y = checked if y is not None else (checked, None)
        if self.variant == "fashion-mnist" and X_arr.size:
            from bioplastic.data.datasets import normalize_mean_intensity

            X_arr = normalize_mean_intensity(X_arr, 30.0, quantize=True).astype(np.float64)
        return X_arr if y is None else (X_arr, y)

    def _params(self):
        from dataclasses import replace

        from bioplastic.symstdp.models import resolve_model
        from bioplastic.symstdp.params import with_overrides

        params, _ = resolve_model(self.model, self.variant, int(self.n_hidden), self.parameter_set)
        n_input = int(self.n_features_in_)
        # the paper's input scaling target is per pixel (0.1 * w_max for MNIST, 0.025 for
        # Fashion-MNIST, times 784): images of another size keep the target per pixel
        w_total = params.stdp_input.w_total * n_input / params.n_input
        params = replace(params, n_input=n_input, stdp_input=replace(params.stdp_input, w_total=w_total),
                         label=replace(params.label, n_classes=len(self.classes_)))
        if self.overrides:
            params = with_overrides(params, self.overrides)
        return params

    def _net_model(self, params):
        """The model's rules for the final table ``params`` (a named model's may depend on it)."""
        from bioplastic.symstdp.models import model_for_params

        return model_for_params(self.model, params)

    def _engine(self, params):
        return _engine_for(params, self.device, int(self.chunk_size), int(self.threads), bool(self.float32),
                           bool(self.verbose), self._net_model(params), self.evaluation)

    def _initial_state(self, engine):
        from bioplastic.symstdp.network import random_initial_weights, state_key

        m = engine.model
        state = engine.initial_state()
        w = random_initial_weights(engine.params, int(self.seed))
        state[state_key(m.input_hidden, "w")] = w["w_input_hidden"].ravel()
        state[state_key(m.excitatory, "wsum")] = w["w_input_hidden"].sum(axis=0)
        state[state_key(m.hidden_label, "w")] = w["w_hidden_label"].ravel()
        state[state_key(m.label, "wsum")] = w["w_hidden_label"].sum(axis=0)
        return state

    def _next_seeds(self):
        """``seed_of_chunk`` continuing this estimator's chunk-seed sequence."""
        from bioplastic.symstdp.device.engine import chunk_seed

        start = self.n_chunks_

        def seed_of_chunk(i):
            self.n_chunks_ = max(self.n_chunks_, start + i + 1)
            return chunk_seed(int(self.seed), start + i)

        return seed_of_chunk

    # ------------------------------------------------------------------ training
    def fit(self, X, y):
        """Train a new network on images *X* with labels *y* for ``epochs`` passes.

        Parameters
        ----------
        X : array_like, (n_samples, n_pixels) or (n_samples, 28, 28)
            Pixel values in [0, 255] (input rates: 255 is the maximal rate).
        y : array_like, (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        for name in ("classes_", "state_", "assignments_", "n_samples_seen_", "n_chunks_", "_assigner"):
            self.__dict__.pop(name, None)
        return self._learn(X, y, classes=None, epochs=int(self.epochs), first=True)

    def partial_fit(self, X, y, classes=None):
        """Learn the samples *X*, *y* once more (one pass), continuing from the current network.

        Parameters
        ----------
        X, y : as for :meth:`fit`
        classes : array_like, optional
            All classes, required on the first call (as for scikit-learn's
            incremental estimators) unless *y* holds every class.
        """
        first = not hasattr(self, "state_")
        if first:
            self._check_hyperparameters()
        return self._learn(X, y, classes=classes, epochs=1, first=first)

    def _learn(self, X, y, classes, epochs, first):
        from bioplastic.analysis.readout import RollingAssignment
        from bioplastic.symstdp.training import pixel_rates, run_phase

        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None "
                             "(the teacher needs the labels)")
        X, y = self._images(X, reset=first, y=y)
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            check_two_classes(self.classes_)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"labels {unseen.tolist()} are not among the classes {self.classes_.tolist()} "
                             "this network was built for")
        y_idx = np.searchsorted(self.classes_, y).astype(np.int64)
        params = self._params()
        engine = self._engine(params)
        if first:
            self.n_chunks_ = 0
            self.n_samples_seen_ = 0
            self.state_ = self._initial_state(engine)
            self._assigner = RollingAssignment(params.n_hidden, len(self.classes_), window=60000)
        rates = pixel_rates(X, params.input)
        state = self.state_
        for epoch in range(epochs):
            state, result = run_phase(engine, state, rates, y_idx, True, self._next_seeds())
            self._assigner.add(result.hidden_counts, y_idx)    # the last 60000 responses count
            self.n_samples_seen_ += len(y_idx)
            if self.verbose:
                print(f"[SymSTDPClassifier] epoch {epoch + 1}/{epochs}: {len(y_idx)} samples in "
                      f"{result.wall_seconds:.1f} s ({1e3 * result.wall_seconds / max(len(y_idx), 1):.2f} ms "
                      "per sample)", flush=True)
        self.state_ = {k: np.array(v, copy=True) for k, v in state.items()}
        self.assignments_ = self._assigner.assignments()
        return self

    # ------------------------------------------------------------------ runs
    @classmethod
    def from_run(cls, run_dir):
        """The trained network of a sym-STDP run directory (``protocols/supervised_*.py``), ready to predict.

        The network state is the run's final checkpoint (every state
        variable, exactly as trained), the neuron assignments those of its
        ``weights.npz``; the hyper-parameters come from its ``run.json``.
        :meth:`predict` on the run's test images then gives the spikes its
        test phase recorded.

        Raises
        ------
        bioplastic.runs.RunError
            If the directory is not a finished sym-STDP run, lacks its
            checkpoint, or was made with parameters this code does not build.
        """
        from pathlib import Path

        from bioplastic import runs
        from bioplastic.symstdp.experiment import _load_checkpoint, params_differences
        from bioplastic.symstdp.models import model_from_record
        from bioplastic.symstdp.params import params_as_strings

        run_dir = Path(run_dir)
        loaded = runs.load_run(run_dir, require=("metrics.json", "weights.npz"))
        if loaded.family != "symstdp":
            raise runs.RunError(f"{run_dir} is a {loaded.family!r} run, not a sym-STDP run")
        record = loaded.record
        cfg = record["config"]
        overrides = dict(tuple(pair) for pair in cfg.get("overrides") or [])
        clf = cls(n_hidden=int(cfg["n_hidden"]), variant=cfg["dataset"],
                  parameter_set=cfg.get("parameter_set", "paper"), epochs=int(cfg.get("epochs", 1)),
                  device=cfg.get("device", "cpp_standalone"), float32=bool(cfg.get("float32", False)),
                  threads=int(cfg.get("threads", 1)), chunk_size=int(cfg.get("chunk_size", 100)),
                  seed=int(cfg.get("seed", 0)), overrides=overrides or None,
                  model=model_from_record(cfg.get("model")), evaluation=cfg.get("evaluation", "sequential"))
        clf.n_features_in_ = int(record.get("n_input", 784))
        clf.classes_ = np.asarray(record.get("classes", np.arange(int(record.get("n_label", 10)))))
        params = clf._params()
        recorded = record.get("params")
        if recorded is not None:
            # a parameter the code gained since the run was made is fine (its default is the
            # behaviour the run had); a recorded value this code would not build is not
            changed, _ = params_differences(recorded, json.loads(json.dumps(params_as_strings(params),
                                                                            default=str)))
            if changed:
                raise runs.RunError(f"{run_dir} was made with model parameters this code does not build "
                                    f"(the code or its defaults changed since): {', '.join(changed)}; "
                                    "it cannot be loaded as a model")
        checkpoint = _load_checkpoint(run_dir)
        if checkpoint is None:
            raise runs.RunError(f"{run_dir} has no checkpoint/checkpoint.npz (the network's state)")
        state, progress = checkpoint
        clf.state_ = {k: np.asarray(v) for k, v in state.items()}
        clf.assignments_ = np.asarray(loaded.weights["assignments"], dtype=np.int64)
        clf.n_samples_seen_ = int(progress.get("samples_seen", 0))
        clf.n_chunks_ = int(progress.get("chunk", 0))
        return clf

    def save(self, run_dir):
        """Write the fitted network as a run directory, the format the protocols write.

        ``run.json`` (family "symstdp", protocol "SymSTDPClassifier", the
        hyper-parameters as ``config``, the model parameters),
        ``checkpoint/checkpoint.npz`` (every state variable), ``weights.npz``
        (weights, theta, assignments) and ``metrics.json``; all written
        atomically.  :func:`bioplastic.load` (or :meth:`from_run`) gives the
        same network back: the same predictions.  There is no test phase, so
        the protocols' test tables are absent (``docs/run_format.rst``).

        Raises
        ------
        bioplastic.runs.RunError
            *run_dir* already holds a run, or cannot be written.
        """
        from bioplastic import runs
        from bioplastic.gradient.rundir import command_of
        from bioplastic.symstdp.experiment import _save_checkpoint
        from bioplastic.symstdp.models import model_record
        from bioplastic.symstdp.network import weight_arrays
        from bioplastic.symstdp.params import params_as_strings

        check_is_fitted(self, "state_")
        out = new_run_directory(run_dir)
        params = self._params()
        config = {"dataset": self.variant, "n_hidden": int(self.n_hidden), "parameter_set": self.parameter_set,
                  "epochs": int(self.epochs), "device": self.device, "float32": bool(self.float32),
                  "threads": int(self.threads), "chunk_size": int(self.chunk_size), "seed": int(self.seed),
                  "readout": self.readout, "model": model_record(self.model), "evaluation": self.evaluation,
                  "overrides": [[k, repr(v)] for k, v in sorted((self.overrides or {}).items())]}
        record = runs.new_record(
            "symstdp", "SymSTDPClassifier", command_of(), int(self.seed), config,
            device=self.device, threads=int(self.threads),
            float32=bool(self.float32), dataset=self.variant, n_input=params.n_input,
            n_hidden=params.n_hidden, n_label=params.label.n_classes, epochs=int(self.epochs),
            chunk_size=int(self.chunk_size), classes=self.classes_.tolist(),
            params=json.loads(json.dumps(params_as_strings(params), default=str)))
        _save_checkpoint(out, self.state_, {"samples_seen": int(self.n_samples_seen_),
                                            "chunk": int(self.n_chunks_), "epoch": int(self.epochs)})
        runs.save_npz(out / "weights.npz", assignments=self.assignments_,
                      **weight_arrays(self.state_, params))
        runs.write_json(out / "metrics.json", {"samples_seen": int(self.n_samples_seen_)})
        runs.write_json(out / "run.json", record)      # last: the run is complete
        return out

    # ------------------------------------------------------------------ responses
    def _respond(self, X):
        """Hidden and label spike counts of the frozen network (learning off) for images *X*."""
        from bioplastic.symstdp.training import pixel_rates, run_phase

        check_is_fitted(self, "state_")
        X = self._images(X, reset=False)
        params = self._params()
        engine = self._engine(params)
        labels = np.full(len(X), -1, dtype=np.int64)
        if not len(X):
            return np.zeros((0, params.n_hidden)), np.zeros((0, len(self.classes_)))
        # the Poisson input of the protocols' test phase: the same images give the same spikes
        # as the test of the run this network was trained or loaded from
        from bioplastic.symstdp.experiment import test_phase_seeds

        if self.evaluation == "independent":
            import zlib

            from bioplastic.symstdp.training import evaluate

            ids = np.array([zlib.crc32(np.ascontiguousarray(row).tobytes()) & 0xFFFFFF for row in X],
                           dtype=np.int64)       # the image is its own key
            result = evaluate(engine, self.state_, pixel_rates(X, params.input), labels, ids)
        else:
            _, result = run_phase(engine, self.state_, pixel_rates(X, params.input), labels, False,
                                  test_phase_seeds(int(self.seed)))
        return result.hidden_counts.astype(np.float64), result.label_counts.astype(np.float64)

    def spikes(self, X, max_samples=20):
        """Every spike of the frozen network for a few images: a :class:`SpikeRecord`.

        Runs in Brian2's runtime mode with spike monitors on all four layers
        (the compiled network is not changed), learning off.  The spikes are
        those of the same model with its own Poisson draws: runtime and
        standalone draw different random numbers, so they are not the spikes
        behind :meth:`predict`.  Building the runtime network resets Brian2's
        device; the next :meth:`predict` builds the compiled network again.

        Parameters
        ----------
        X : array_like, (n_samples, n_pixels) or (n_samples, 28, 28), n_samples <= max_samples
        max_samples : int
            A guard: recording is for a few samples (each window is simulated
            in Python).
        """
        from brian2 import SpikeMonitor, ms
        from brian2.devices import reinit_and_delete

        from bioplastic.symstdp.device.engine import Engine
        from bioplastic.symstdp.training import phase_start_state, pixel_rates

        check_is_fitted(self, "state_")
        X = self._images(X, reset=False)
        if not 1 <= len(X) <= max_samples:
            raise ValueError(f"spikes() records 1 to max_samples={max_samples} samples, got {len(X)}")
        params = self._params()
        n = len(X)
        k = 4 * n          # room for re-presentations (fewer than 5 hidden spikes: shown again, brighter)
        _BUILT.update(config=None, engine=None)
        reinit_and_delete()
        engine = Engine(params, device="runtime", chunk_size=k, seed=0, verbose=False, runtime_target="numpy",
                        **self._net_model(params).engine_kwargs())
        m = engine.model
        layers = {"input": m.input, "hidden": m.excitatory, "inhibitory": m.inhibitory, "label": m.label}
        monitors = {name: SpikeMonitor(group, record=True) for name, group in layers.items()}
        m.net.add(*monitors.values())
        rates = np.zeros((k, params.n_input))
        rates[:n] = pixel_rates(X, params.input)
        labels = np.full(k, -1, dtype=np.int64)
        start = phase_start_state(engine, {key: np.asarray(self.state_[key]) for key in engine.initial_state()})
        from bioplastic.symstdp.experiment import test_phase_seeds

        _, result = engine.run_chunk(start, rates, labels, False, test_phase_seeds(int(self.seed))(0))
        t_window = float(params.input.t_window / ms)
        dt = float(params.input.dt / ms)
        steps_per_window = int(round(t_window / dt))
        accepted = result.accepted & (result.ptr < n)
        window_of_sample = np.full(n, -1)
        window_of_sample[result.ptr[accepted]] = np.flatnonzero(accepted)
        if (window_of_sample < 0).any():
            raise RuntimeError(f"samples {np.flatnonzero(window_of_sample < 0).tolist()} were not completed "
                               f"within {k} windows")
        trains = {}
        for name, mon in monitors.items():
            step = np.round(np.asarray(mon.t / ms) / dt).astype(np.int64)   # integer steps: exact windows
            window = step // steps_per_window
            per_sample = []
            for w in window_of_sample:
                sel = window == w
                per_sample.append((np.asarray(mon.i[:])[sel].astype(np.int64),
                                   (step[sel] - w * steps_per_window) * dt))
            trains[name] = per_sample
        sizes = {"input": params.n_input, "hidden": params.n_hidden, "inhibitory": params.n_hidden,
                 "label": params.label.n_classes}
        record = SpikeRecord(trains=trains, sizes=sizes, t_present_ms=float(params.input.t_present / ms),
                             t_window_ms=t_window, n_presentations=np.bincount(result.ptr[result.ptr < n],
                                                                               minlength=n))
        reinit_and_delete()
        return record

    def transform(self, X):
        """Hidden-layer spike counts (n_samples, n_hidden) of the frozen network: a feature stage."""
        return self._respond(X)[0]

    def predict_proba(self, X):
        """Class probabilities: normalised label-layer counts (or assignment scores); uniform if silent."""
        hidden, label = self._respond(X)
        if self.readout == "supervised":
            scores = label
        else:
            n_classes = len(self.classes_)
            onehot = np.zeros((len(self.assignments_), n_classes))
            assigned = self.assignments_ >= 0
            onehot[np.flatnonzero(assigned), self.assignments_[assigned]] = 1.0
            n_per_class = onehot.sum(axis=0)
            scores = np.divide(hidden @ onehot, n_per_class, out=np.zeros((len(hidden), n_classes)),
                               where=n_per_class > 0)
        total = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / scores.shape[1])
        return np.where(total > 0, scores / np.where(total > 0, total, 1.0), uniform)

    def predict(self, X):
        """Class of each image by the chosen ``readout`` (first class on ties; silence: the first class)."""
        proba = self.predict_proba(X)        # checks that the network is fitted
        return self.classes_[np.argmax(proba, axis=1)]
