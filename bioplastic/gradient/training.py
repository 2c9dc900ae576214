"""One generic training loop for the gradient-trained families.

:func:`fit` trains any :class:`torch.nn.Module` with any loss, writes an atomic
checkpoint after every epoch, resumes from it, and stops with
:class:`TrainingDivergedError` (keeping the last good checkpoint) when the loss
stops being finite.  :func:`evaluate` computes loss, accuracy and metrics on a
data set without gradients.

The loss function
-----------------
``loss_fn(model, x, y)`` receives the model and one minibatch and returns
either a scalar loss tensor or a :class:`BatchResult`::

    def loss_fn(model, x, y):
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out.logits, y)
        return BatchResult(loss, predictions=out.logits.argmax(1),
                           metrics={"spikes_per_neuron": out.spikes.sum(1).mean().item()})

``predictions`` (predicted labels, ``(batch,)``) give the accuracy columns;
``metrics`` (floats) are averaged over the epoch, weighted by batch size, and
appear as columns of the records.

Data
----
A data set is either a tuple ``(x, y)`` of tensors or numpy arrays (batched by
:func:`fit` with a seeded shuffle, so a resumed run sees the same batches as
an uninterrupted one), or any re-iterable of ``(x, y)`` minibatches (for
instance a :class:`torch.utils.data.DataLoader`).  In a tuple, ``x`` may also
be any object with ``len()`` that returns a minibatch tensor when indexed with
a tensor of sample indices (e.g. :class:`bioplastic.gradient.lif.SpikeTimesBatches`,
which builds dense spike tensors batch by batch).

The run directory (``out``)
---------------------------
``checkpoint.npz``
    Everything needed to resume, written atomically as ONE file after each
    epoch: model parameters (``model/<name>``), optimiser tensors
    (``optimizer/<param index>/<key>``) and a JSON block (``meta``: epochs
    done, seed, optimiser hyper-parameters, the epoch records).
``weights.npz``
    The model's ``state_dict`` (names as keys, float arrays), same epoch.
``epochs.csv``
    One row per epoch (see :func:`fit`, Returns).
``checkpoint.json``
    Human-readable state: ``epoch`` (done), ``epochs`` (asked), ``seed``,
    ``status`` (``"running"``, ``"finished"`` or ``"diverged"``), ``message``.

Every file is written with the atomic writers of :mod:`bioplastic.runs`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bioplastic.runs import RunError, check_writable, load_npz, save_npz, save_table, write_json

__all__ = [
    "BatchResult",
    "TrainingDivergedError",
    "CheckpointError",
    "fit",
    "evaluate",
    "iterate_batches",
    "load_checkpoint",
    "load_weights",
]

CHECKPOINT = "checkpoint.npz"
WEIGHTS = "weights.npz"
BEST_WEIGHTS = "best_weights.npz"
EPOCHS = "epochs.csv"
STATE = "checkpoint.json"


@dataclasses.dataclass
class BatchResult:
    """What a loss function returns for one minibatch.

    Attributes
    ----------
    loss : torch.Tensor
        Scalar loss (mean over the batch); :func:`fit` back-propagates it.
    predictions : torch.Tensor, optional
        Predicted labels, ``(batch,)``; give the accuracy columns.
    metrics : dict of str to float
        Further per-batch numbers (means over the batch), averaged over the
        epoch weighted by batch size.
    """

    loss: torch.Tensor
    predictions: torch.Tensor | None = None
    metrics: dict = dataclasses.field(default_factory=dict)


class TrainingDivergedError(RunError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept.

    A :class:`bioplastic.runs.RunError`: the options (e.g. the learning rate)
    are at fault, and a protocol reports it in one line with exit status 2.
    """


class CheckpointError(RunError, RuntimeError):
    """A checkpoint is missing, from another model, or the output directory is in the way."""


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

def _as_tensor(a):
    """Arrays and lists become tensors; other indexable objects are used as they are."""
    if isinstance(a, torch.Tensor):
        return a
    if isinstance(a, (np.ndarray, list, tuple)):
        return torch.as_tensor(np.asarray(a))
    if hasattr(a, "__getitem__") and hasattr(a, "__len__"):
        return a  # e.g. lif.SpikeTimesBatches: indexed with a tensor of sample indices
    raise TypeError(f"cannot batch data of type {type(a).__name__}")


def iterate_batches(data, batch_size, shuffle=False, generator=None):
    """Yield ``(x, y)`` minibatches of *data*.

    Parameters
    ----------
    data : tuple (x, y) or iterable of (x, y)
        Arrays/tensors with the samples along the first axis, or an
        iterable of minibatches (returned as they come).
    batch_size : int
        Samples per batch (the last batch may be smaller).
    shuffle : bool
        Shuffle the samples (tuple data only) with *generator*.
    generator : torch.Generator, optional
    """
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError("tuple data must be (x, y)")
        x, y = _as_tensor(data[0]), _as_tensor(data[1])
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if not int(batch_size) >= 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]
    else:
        yield from data


def _epoch_generator(seed, epoch):
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))


# --------------------------------------------------------------------------
# one pass
# --------------------------------------------------------------------------

def _as_result(value):
    if isinstance(value, BatchResult):
        return value
    if isinstance(value, torch.Tensor):
        return BatchResult(value)
    raise TypeError(f"loss_fn must return a scalar tensor or a BatchResult, got {type(value).__name__}")


class _Accumulator:
    def __init__(self):
        self.n = 0
        self.loss = 0.0
        self.correct = 0
        self.n_predicted = 0
        self.metrics = {}

    def add(self, result, y):
        n = len(y)
        self.n += n
        self.loss += float(result.loss.detach()) * n
        if result.predictions is not None:
            self.correct += int((result.predictions.detach().cpu() == y.cpu()).sum())
            self.n_predicted += n
        for k, v in result.metrics.items():
            self.metrics[k] = self.metrics.get(k, 0.0) + float(v) * n

    def summary(self, prefix):
        out = {f"{prefix}_loss": self.loss / self.n if self.n else math.nan,
               f"{prefix}_accuracy": self.correct / self.n_predicted if self.n_predicted else math.nan}
        out.update({f"{prefix}_{k}": v / self.n for k, v in self.metrics.items()})
        return out


def evaluate(model, loss_fn, data, batch_size=1000, prefix="eval"):
    """Loss, accuracy and metrics of *model* on *data*, without gradients.

    Returns
    -------
    dict
        ``{prefix}_loss``, ``{prefix}_accuracy`` (NaN if the loss function
        gives no predictions) and ``{prefix}_<metric>`` for each metric.
    """
    was_training = model.training
    model.eval()
    acc = _Accumulator()
    try:
        with torch.no_grad():
            for x, y in iterate_batches(data, batch_size):
                acc.add(_as_result(loss_fn(model, x, y)), y)
    finally:
        model.train(was_training)
    return acc.summary(prefix)


# --------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------

def _optimizer_arrays(optimizer):
    """Split an optimiser state dict into arrays (for .npz) and JSON-able rest."""
    state = optimizer.state_dict()
    arrays, scalars = {}, {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                arrays[f"optimizer/{idx}/{key}"] = value.detach().cpu().numpy()
            else:
                scalars[f"{idx}/{key}"] = value
    return arrays, {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer, arrays, meta):
    state = {}
    for name, value in arrays.items():
        if name.startswith("optimizer/"):
            _, idx, key = name.split("/", 2)
            state.setdefault(int(idx), {})[key] = torch.as_tensor(value)
    for name, value in meta["scalars"].items():
        idx, key = name.split("/", 1)
        state.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _write_checkpoint(out, model, optimizer, records, epoch, epochs, seed, best=None):
    opt_arrays, opt_meta = _optimizer_arrays(optimizer)
    meta = {"epoch": epoch, "epochs": epochs, "seed": seed, "optimizer": opt_meta,
            "optimizer_class": type(optimizer).__name__,
            "records": records}
    arrays = {f"model/{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    arrays.update(opt_arrays)
    if best is not None:
        meta["best"] = {"epoch": best["epoch"], "column": best["column"], "value": best["value"]}
        arrays.update({f"best/{k}": v.cpu().numpy() for k, v in best["state"].items()})
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    # the one file a resume reads: written first, in one atomic step
    save_npz(out / CHECKPOINT, compress=False, **arrays)
    save_npz(out / WEIGHTS, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    save_table(out / EPOCHS, pd.DataFrame(records))
    if best is not None:
        save_npz(out / BEST_WEIGHTS, **{k: v.cpu().numpy() for k, v in best["state"].items()})
    _write_state(out, epoch, epochs, seed, "finished" if epoch >= epochs else "running", "")


def _write_state(out, epoch, epochs, seed, status, message):
    write_json(out / STATE, {"epoch": epoch, "epochs": epochs, "seed": seed,
                             "status": status, "message": message})


def load_checkpoint(out, model, optimizer=None):
    """Load the checkpoint of run directory *out* into *model* (and *optimizer*).

    Returns
    -------
    dict
        The checkpoint's meta block: ``epoch`` (epochs done), ``epochs``,
        ``seed``, ``records`` (list of per-epoch dicts), and with
        ``keep_best`` a ``best`` dict (``epoch``, ``column``, ``value``,
        ``state``), ...

    Raises
    ------
    CheckpointError
        If there is no checkpoint or it does not fit the model/optimiser.
    """
    path = Path(out) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    arrays = load_npz(path)
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    state = {k[len("model/"):]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("model/")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {str(path)!r} does not fit this model: {err}") from None
    if "best" in meta:
        meta["best"]["state"] = {k[len("best/"):]: torch.as_tensor(v) for k, v in arrays.items()
                                 if k.startswith("best/")}
    if optimizer is not None:
        if meta.get("optimizer_class") != type(optimizer).__name__:
            raise CheckpointError(f"checkpoint was written with optimiser {meta.get('optimizer_class')}, "
                                  f"not {type(optimizer).__name__}")
        try:
            _restore_optimizer(optimizer, arrays, meta["optimizer"])
        except (ValueError, KeyError) as err:
            raise CheckpointError(f"optimiser state in {str(path)!r} does not fit: {err}") from None
    return meta


def load_weights(path):
    """The ``state_dict`` arrays of a ``weights.npz`` (a dict of numpy arrays)."""
    return load_npz(path)


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------

def _n_batches(data, batch_size):
    """Number of minibatches per epoch, or "?" when the data do not say."""
    if isinstance(data, tuple):
        return math.ceil(len(data[1]) / batch_size)
    try:
        return len(data)
    except TypeError:
        return "?"


def _format_line(rec):
    parts = [f"epoch {rec['epoch']:>3d}"]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        if key in rec and rec[key] == rec[key]:
            parts.append(f"{key} {rec[key]:.4f}")
    parts.append(f"{rec['seconds']:.1f} s")
    return "  ".join(parts)


def fit(model, loss_fn, train_data, *, epochs, optimizer=None, lr=1e-3, batch_size=256,
        val_data=None, eval_batch_size=1000, seed=0, out=None, resume=False, progress=True,
        log=None, progress_interval=30.0, keep_best=None):
    """Train *model* by minibatch gradient descent on ``loss_fn``.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
        ``loss_fn(model, x, y)`` -> scalar tensor or :class:`BatchResult`
        (see the module docstring).
    train_data : tuple (x, y) or iterable of (x, y)
        Training data; tuples are shuffled each epoch with a generator seeded
        from (*seed*, epoch).
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    optimizer : torch.optim.Optimizer, optional
        Default ``torch.optim.Adam(model.parameters(), lr=lr)``.
    lr : float
        Learning rate of the default optimiser.
    batch_size, eval_batch_size : int
        Minibatch sizes for training and for the validation pass.
    val_data : optional
        Evaluated after every epoch (``val_*`` columns).
    seed : int
        Seeds the shuffling and ``torch.manual_seed`` at each epoch (so a
        resumed run repeats an uninterrupted one).  The model's initial
        weights are the caller's business.
    out : str or path-like, optional
        Run directory for the checkpoint files (module docstring); created if
        missing.  Without it nothing is written.
    resume : bool
        Continue from the checkpoint in *out* (if there is one).  Without
        *resume*, an *out* that already holds a checkpoint is an error.
    progress : bool
        Print one line per epoch (to *log*, default stderr).
    log : callable, optional
        ``log(str)``; default prints to stderr.
    progress_interval : float
        Within a long epoch, also print a line (batch k of n, running mean
        loss) at most every this many seconds.
    keep_best : str, optional
        A record column to maximise, e.g. ``"val_accuracy"`` (model selection
        on the validation set).  The weights of the best epoch are kept
        (``best_weights.npz`` in *out*, and in the checkpoint) and loaded into
        *model* when training ends.  Default: the model keeps the last
        epoch's weights.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: ``epoch`` (1-based), ``train_loss``,
        ``train_accuracy``, ``train_<metric>``, ``val_loss``,
        ``val_accuracy``, ``val_<metric>`` (when *val_data* is given),
        ``seconds`` (wall time of the epoch, evaluation included).

    Raises
    ------
    TrainingDivergedError
        When a minibatch loss is NaN or infinite.  The checkpoint of the last
        finished epoch stays in *out*; ``checkpoint.json`` gets status
        ``"diverged"`` and the message.
    CheckpointError
        If *out* holds a checkpoint and *resume* is false, or the checkpoint
        does not fit the model.
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if log is None:
        def log(text):
            print(text, file=sys.stderr, flush=True)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    records, start, best = [], 0, None
    if out is not None:
        out = check_writable(out)
        if (out / CHECKPOINT).exists():
            if not resume:
                raise CheckpointError(f"{str(out)!r} already holds a checkpoint; pass resume=True to "
                                      "continue it, or choose another directory")
            meta = load_checkpoint(out, model, optimizer)
            records, start = meta["records"], meta["epoch"]
            best = meta.get("best")
            if progress:
                log(f"resuming from epoch {start} of {epochs} in {out}")
    model.train()
    for epoch in range(start + 1, epochs + 1):
        t0 = time.perf_counter()
        torch.manual_seed(int(seed) * 1_000_003 + epoch)
        acc = _Accumulator()
        n_batches = _n_batches(train_data, batch_size)
        last_line = t0
        for batch_index, (x, y) in enumerate(iterate_batches(
                train_data, batch_size, shuffle=True, generator=_epoch_generator(seed, epoch))):
            result = _as_result(loss_fn(model, x, y))
            if not torch.isfinite(result.loss.detach()).all():
                message = (f"loss became {float(result.loss.detach())} in epoch {epoch}, batch "
                           f"{batch_index}; stopped")
                if out is not None:
                    done = records[-1]["epoch"] if records else 0
                    message += (f"; the checkpoint of epoch {done} is kept in {out}" if done
                                else "; no epoch had finished, so there is no checkpoint")
                    _write_state(out, len(records), epochs, seed, "diverged", message)
                raise TrainingDivergedError(message)
            optimizer.zero_grad(set_to_none=True)
            result.loss.backward()
            optimizer.step()
            acc.add(result, y)
            now = time.perf_counter()
            if progress and now - last_line > progress_interval:
                last_line = now
                log(f"epoch {epoch:>3d}  batch {batch_index + 1}/{n_batches}  "
                    f"train_loss {acc.loss / acc.n:.4f}  {now - t0:.0f} s")
        rec = {"epoch": epoch}
        rec.update(acc.summary("train"))
        if val_data is not None:
            rec.update(evaluate(model, loss_fn, val_data, eval_batch_size, prefix="val"))
        rec["seconds"] = time.perf_counter() - t0
        records.append(rec)
        if keep_best is not None:
            if keep_best not in rec:
                raise ValueError(f"keep_best={keep_best!r} is not a record column; columns: "
                                 f"{', '.join(rec)}")
            if best is None or rec[keep_best] > best["value"]:
                best = {"epoch": epoch, "column": keep_best, "value": float(rec[keep_best]),
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        if out is not None:
            _write_checkpoint(out, model, optimizer, records, epoch, epochs, seed, best)
        if progress:
            log(_format_line(rec))
    if keep_best is not None and best is not None:
        model.load_state_dict(best["state"])
        if progress:
            log(f"kept the weights of epoch {best['epoch']} ({keep_best} {best['value']:.4f})")
    return pd.DataFrame(records)
