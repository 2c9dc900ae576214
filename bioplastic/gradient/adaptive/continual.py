"""Continual learning for the adaptive-scaling family: task splits, scenarios, EWC, metrics.

Split-MNIST (five tasks of two digits: 0/1, 2/3, 4/5, 6/7, 8/9), learnt one
task after another, in two scenarios (van de Ven & Tolias 2019, "Three
scenarios for continual learning", arXiv:1904.07734):

* ``task`` (task-incremental): the task identity is known; training and
  testing use only the logits of the task's classes (a multi-head readout
  made by masking the one 10-way readout);
* ``class`` (class-incremental): no task identity at test time, the
  prediction is the arg max over all ten classes; training on a task uses the
  cross-entropy over the classes seen so far ("active classes", as in van de
  Ven & Tolias), so that classes of later tasks are not pushed down before
  they are met.

Dead logits, and the readout used here.  The LIF network's logits are the
maximum over time of the readout membrane, whose first
:data:`SILENT_READOUT_STEPS` values are 0 by construction (the map's delays:
input -> current -> membrane -> spike -> readout current -> readout
membrane).  So a logit is never below 0, and a class whose readout stays
negative gets no gradient; even skipping those steps, the maximum of a
negative trace sits at the first live step, which depends only on the
earliest hidden spikes, and its gradient is tiny.  In sequential training
this stalls whole tasks (measured: task 2/3 stuck at 0.52-0.54 for every
method in seed 1, with the readout of class 3 pinned near 0).  The losses
here therefore read out the **mean over the live steps** of the readout
membrane by default (``readout="mean"``; stork's sum-over-time readout up
to a constant), for every method alike; ``readout="max"`` keeps the maximum
(over the live steps).  The network and its forward pass are unchanged.

The baselines are experience replay (:class:`Replay`: a small memory of
earlier tasks' samples mixed into later training), and elastic weight consolidation (EWC, Kirkpatrick et al. 2017,
PNAS 114:3521), in its "online" form (Schwarz et al. 2018): after each task a
diagonal Fisher information ``F`` (mean squared gradient of the log-likelihood
of the true label, over that task's training samples) is accumulated, and the
loss of later tasks gains ``lambda / 2 * sum F (theta - theta*)^2``.  The
Fisher is taken from minibatch gradients (one backward pass per 100
samples), which makes it about 100 times smaller than the per-sample Fisher;
``lambda`` (default 1e6 in the protocol) absorbs that factor.

Metrics (Chaudhry et al. 2018, "Riemannian walk", ECCV), with ``R[t, k]`` the
test accuracy on task ``k`` after training task ``t``:

* average accuracy after task ``t``: ``mean_{k <= t} R[t, k]``;
* forgetting after task ``t`` (``t >= 1``):
  ``mean_{k < t} (max_{l in [k, t-1]} R[l, k] - R[t, k])``.
"""

from __future__ import annotations

import numpy as np
import torch

from bioplastic.gradient.training import BatchResult, evaluate, fit

__all__ = [
    "SPLIT_MNIST",
    "SCENARIOS",
    "SILENT_READOUT_STEPS",
    "READOUTS",
    "check_task_split",
    "task_data",
    "masked_loss",
    "EWC",
    "Replay",
    "fisher_diagonal",
    "average_accuracy",
    "forgetting",
    "train_sequentially",
]

#: Readout steps that are 0 whatever the weights (see "Dead logits" above).
SILENT_READOUT_STEPS = 3

#: The five two-digit tasks of split-MNIST.
SPLIT_MNIST = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
SCENARIOS = ("task", "class")


def check_task_split(tasks, n_classes: int = 10) -> tuple[tuple[int, ...], ...]:
    """Check that *tasks* is a partition of ``range(n_classes)``; return it as tuples.

    Raises
    ------
    ValueError
        An empty task, a class outside ``0 .. n_classes - 1``, a class in two
        tasks (or twice in one), or classes that no task covers; the message
        names them.
    """
    tasks = tuple(tuple(int(c) for c in task) for task in tasks)
    if not tasks:
        raise ValueError("the task split is empty")
    problems = []
    if any(len(t) == 0 for t in tasks):
        problems.append("task(s) " + ", ".join(str(k) for k, t in enumerate(tasks) if not t) + " are empty")
    flat = [c for t in tasks for c in t]
    outside = sorted({c for c in flat if not 0 <= c < n_classes})
    if outside:
        problems.append(f"classes {outside} are not in 0..{n_classes - 1}")
    counts = np.bincount([c for c in flat if 0 <= c < n_classes], minlength=n_classes)
    repeated = [c for c in range(n_classes) if counts[c] > 1]
    missing = [c for c in range(n_classes) if counts[c] == 0]
    if repeated:
        problems.append(f"classes {repeated} appear more than once")
    if missing:
        problems.append(f"classes {missing} are in no task")
    if problems:
        raise ValueError(f"the task split {tasks} is not a partition of the classes 0..{n_classes - 1}: "
                         + "; ".join(problems))
    return tasks


def task_data(x, y, task):
    """The samples of *x*, *y* whose label is in *task* (tensors)."""
    y = torch.as_tensor(np.asarray(y))
    keep = torch.zeros_like(y, dtype=torch.bool)
    for c in task:
        keep |= y == c
    return torch.as_tensor(np.asarray(x))[keep], y[keep]


READOUTS = ("mean", "max")


def masked_loss(classes=None, penalty=None, readout="mean"):
    """A loss function for :func:`~bioplastic.gradient.training.fit` and ``evaluate``.

    Cross-entropy of the logits read from the readout membrane ``U_out`` over
    the steps ``n >= SILENT_READOUT_STEPS`` (*readout* ``"mean"`` or
    ``"max"``, see the module docstring).  *classes* masks the logits: a
    tuple of classes keeps only those for every sample; a task split (tuple
    of tuples) keeps, for each sample, the classes of its own task (the task
    identity of task-incremental learning, needed when replayed samples of
    earlier tasks are mixed in).  *penalty* (a callable ``penalty(model) ->
    tensor``) is added during training.
    """
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    mask = None  # (10, 10): row = label, the mask of that sample's logits
    if classes is not None:
        groups = classes if all(isinstance(c, (tuple, list)) for c in classes) else (tuple(classes),)
        mask = torch.zeros(10, 10)
        for label in range(10):
            group = next((g for g in groups if label in g), None)
            if group is None and len(groups) == 1:
                group = groups[0]
            if group is not None:
                mask[label] = float("-inf")
                mask[label, list(group)] = 0.0

    def loss_fn(model, x, y):
        out = model(x)
        live = out.readout[:, SILENT_READOUT_STEPS:] if out.readout.shape[1] > SILENT_READOUT_STEPS \
            else out.readout
        logits = live.mean(dim=1) if readout == "mean" else live.max(dim=1).values
        if mask is not None:
            logits = logits + mask[y.long()][:, : logits.shape[1]].to(logits.dtype)
        loss = torch.nn.functional.cross_entropy(logits, y.long())
        if penalty is not None and model.training:
            loss = loss + penalty(model)
        return BatchResult(loss, predictions=logits.argmax(1),
                           metrics={"spikes": float(out.spikes.detach().sum(1).mean())})

    return loss_fn


def fisher_diagonal(model, loss_fn, x, y, batch_size: int = 100):
    """Empirical diagonal Fisher information: mean over samples of the squared gradient of the log-likelihood.

    Gradients are taken per minibatch of *batch_size* (a common approximation
    of per-sample gradients that keeps the cost to one backward pass per batch).
    """
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    n_total = 0
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(y), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            model.zero_grad(set_to_none=True)
            loss_fn(model, xb, yb).loss.backward()
            for n, p in model.named_parameters():
                if p.grad is not None:
                    fisher[n] += p.grad.detach() ** 2 * len(yb)
            n_total += len(yb)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return {n: f / max(n_total, 1) for n, f in fisher.items()}


class EWC:
    """Online elastic weight consolidation (the baseline).

    Parameters
    ----------
    strength : float
        ``lambda`` of the quadratic penalty.
    decay : float
        Factor on the accumulated Fisher before adding a new task's (``gamma``
        of online EWC; 1: plain sum).
    """

    def __init__(self, strength: float = 1000.0, decay: float = 1.0):
        if not strength >= 0:
            raise ValueError(f"EWC strength must be >= 0, got {strength}")
        if not 0 <= decay <= 1:
            raise ValueError(f"EWC decay must lie in [0, 1], got {decay}")
        self.strength = float(strength)
        self.decay = float(decay)
        self.fisher = None
        self.anchor = None

    def consolidate(self, model, loss_fn, x, y):
        """After a task: add its Fisher information and anchor the current weights."""
        new = fisher_diagonal(model, loss_fn, x, y)
        if self.fisher is None:
            self.fisher = new
        else:
            self.fisher = {n: self.decay * self.fisher[n] + new[n] for n in new}
        self.anchor = {n: p.detach().clone() for n, p in model.named_parameters() if n in new}

    def penalty(self, model):
        """``strength / 2 * sum F (theta - theta*)^2`` (0 before the first consolidation)."""
        if self.fisher is None:
            return torch.zeros(())
        total = 0.0
        for n, p in model.named_parameters():
            if n in self.fisher:
                total = total + (self.fisher[n] * (p - self.anchor[n]) ** 2).sum()
        return 0.5 * self.strength * total

    def record(self):
        return {"name": "ewc (online)", "strength": self.strength, "decay": self.decay}


class Replay:
    """Experience replay (the second baseline): a small memory of earlier tasks' samples.

    After each task, *n_per_class* training samples of each of its classes
    (drawn with *seed*) are stored; the next tasks train on their own samples
    together with the whole memory.

    Parameters
    ----------
    n_per_class : int
        Stored samples per class.
    seed : int
    """

    def __init__(self, n_per_class: int = 20, seed: int = 0):
        if int(n_per_class) != n_per_class or n_per_class < 1:
            raise ValueError(f"replay n_per_class must be a positive integer, got {n_per_class!r}")
        self.n_per_class = int(n_per_class)
        self.rng = np.random.default_rng(seed)
        self.x, self.y = [], []

    def add(self, x, y):
        """Store *n_per_class* samples of each class present in *y*."""
        x, y = torch.as_tensor(np.asarray(x)), torch.as_tensor(np.asarray(y))
        for c in torch.unique(y).tolist():
            idx = torch.nonzero(y == c).ravel().numpy()
            keep = self.rng.choice(idx, size=min(self.n_per_class, len(idx)), replace=False)
            self.x.append(x[keep])
            self.y.append(y[keep])

    def mix(self, x, y):
        """*x*, *y* with the memory appended."""
        if not self.y:
            return x, y
        return torch.cat([x] + self.x), torch.cat([y] + self.y)

    def record(self):
        return {"name": "replay", "n_per_class": self.n_per_class}


def average_accuracy(acc: np.ndarray) -> np.ndarray:
    """``(n_tasks,)`` mean accuracy over the tasks seen so far, from ``acc[t, k]`` (after task t, on task k)."""
    acc = np.asarray(acc, dtype=float)
    return np.array([acc[t, : t + 1].mean() for t in range(acc.shape[0])])


def forgetting(acc: np.ndarray) -> np.ndarray:
    """``(n_tasks,)`` average forgetting after each task (NaN after the first)."""
    acc = np.asarray(acc, dtype=float)
    out = [np.nan]
    for t in range(1, acc.shape[0]):
        out.append(np.mean([acc[k:t, k].max() - acc[t, k] for k in range(t)]))
    return np.array(out)


def train_sequentially(model, x_train, y_train, x_test, y_test, *, scenario: str, tasks=SPLIT_MNIST,
                       method: str = "plain", ewc: EWC | None = None, replay: Replay | None = None,
                       epochs: int = 2, lr: float = 2e-3,
                       batch_size: int = 64, seed: int = 0, readout: str = "mean", log=None):
    """Train *model* on the tasks one after another; test on every task after each.

    Parameters
    ----------
    scenario : {"task", "class"}
    method : str
        A label for the records; pass *ewc* to regularise with EWC, *replay*
        to mix a memory of earlier tasks into the training data.
    readout : {"mean", "max"}
        How logits are read from the readout membrane (see :func:`masked_loss`).
    log : callable, optional
        Progress lines (``log(str)``).

    Returns
    -------
    acc : numpy.ndarray
        ``(n_tasks, n_tasks)``, ``acc[t, k]``: test accuracy on task ``k``
        after training task ``t`` (the lower triangle and the diagonal are
        the ones that enter the metrics; the rest is measured too).
    records : list of dict
        One row per (after task, test task): the tidy form of *acc*.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    tasks = check_task_split(tasks)
    n_tasks = len(tasks)
    acc = np.full((n_tasks, n_tasks), np.nan)
    records = []
    for t, task in enumerate(tasks):
        xt, yt = task_data(x_train, y_train, task)
        seen = tuple(c for earlier in tasks[: t + 1] for c in earlier)
        train_classes = tasks if scenario == "task" else seen  # task-IL: each sample's own task
        penalty = ewc.penalty if ewc is not None else None
        data = replay.mix(xt, yt) if replay is not None else (xt, yt)
        fit(model, masked_loss(train_classes, penalty, readout), data, epochs=epochs, lr=lr, batch_size=batch_size,
            seed=seed * 1000 + t, progress=False)
        if replay is not None:
            replay.add(xt, yt)
        if ewc is not None:
            ewc.consolidate(model, masked_loss(train_classes, readout=readout), xt, yt)  # this task's samples
        for k, test_task in enumerate(tasks):
            xk, yk = task_data(x_test, y_test, test_task)
            test_classes = test_task if scenario == "task" else None
            acc[t, k] = evaluate(model, masked_loss(test_classes, readout=readout), (xk, yk), batch_size=500)["eval_accuracy"]
            records.append({"method": method, "scenario": scenario, "after_task": t, "test_task": k,
                            "accuracy": acc[t, k]})
        if log is not None:
            log(f"[{method}/{scenario}] after task {t} {task}: accuracy on tasks so far "
                + " ".join(f"{a:.3f}" for a in acc[t, : t + 1])
                + f"; average {acc[t, : t + 1].mean():.3f}")
    return acc, records
