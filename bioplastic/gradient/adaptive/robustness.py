"""Perturbations for the robustness protocol of the adaptive-scaling family.

Three perturbations, applied at test time to a trained network:

=================  ==========================================================  ==============
name               what                                                        strength range
=================  ==========================================================  ==============
``event_noise``    every (step, input) gets a spurious spike with prob. p       p in [0, 1]
``event_dropout``  every input spike is removed with probability p              p in [0, 1]
``weight_noise``   every weight w becomes w (1 + sigma xi), xi ~ N(0, 1)        sigma in [0, 10]
=================  ==========================================================  ==============

The event perturbations are those of :mod:`bioplastic.data.event_streams` (numpy);
weight noise is multiplicative (device variability) and applied to all
weight matrices of the LIF network, then undone.  The abstract of Xu et al.
2025 names "perturbation resistance" without saying which perturbations; these
three are the issue's choice.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from bioplastic.data.event_streams import add_event_noise, drop_events
from bioplastic.gradient.training import evaluate

__all__ = ["PERTURBATIONS", "check_perturbation", "perturb_inputs", "weight_noise", "perturbed_accuracy"]

#: name -> (lowest, highest) strength, and a one-line description
PERTURBATIONS = {
    "event_noise": ((0.0, 1.0), "probability of a spurious input spike per step and input"),
    "event_dropout": ((0.0, 1.0), "probability that an input spike is removed"),
    "weight_noise": ((0.0, 10.0), "relative std sigma of multiplicative Gaussian weight noise"),
}


def check_perturbation(name: str, strengths) -> list[float]:
    """Validate a perturbation name and its strengths; return the strengths as floats.

    Raises
    ------
    ValueError
        Unknown name (the known ones are listed), or a strength that is not a
        finite number inside the perturbation's range.
    """
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(sorted(PERTURBATIONS))}")
    (lo, hi), what = PERTURBATIONS[name]
    values = [strengths] if np.isscalar(strengths) else list(strengths)
    if not values:
        raise ValueError(f"no strengths given for {name!r}")
    out = []
    for s in values:
        try:
            s = float(s)
        except (TypeError, ValueError):
            raise ValueError(f"{name} strength must be a number, got {s!r}") from None
        if not math.isfinite(s) or not lo <= s <= hi:
            raise ValueError(f"{name} strength {s} is out of range [{lo}, {hi}] ({what})")
        out.append(s)
    return out


def perturb_inputs(x: np.ndarray, name: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Input spikes *x* (0/1 array) with an event perturbation applied (weight noise: unchanged)."""
    (strength,) = check_perturbation(name, strength)
    spikes = np.asarray(x) > 0
    if name == "event_noise":
        spikes = add_event_noise(spikes, strength, rng)
    elif name == "event_dropout":
        spikes = drop_events(spikes, strength, rng)
    return spikes.astype(np.asarray(x).dtype)


@contextlib.contextmanager
def weight_noise(model: torch.nn.Module, sigma: float, generator: torch.Generator):
    """Multiply every weight of *model* by ``1 + sigma * N(0, 1)`` inside the block, then restore it."""
    (sigma,) = check_perturbation("weight_noise", sigma)
    params = [p for name, p in model.named_parameters() if name.split(".")[-1].startswith("w_")]
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for p in params:
                noise = torch.randn(p.shape, generator=generator, dtype=torch.float64).to(p.dtype)
                p.mul_(1.0 + sigma * noise)
        yield model
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)


def perturbed_accuracy(model, loss_fn, x: np.ndarray, y: np.ndarray, name: str, strength: float,
                       seed: int = 0, batch_size: int = 500) -> float:
    """Test accuracy of *model* on (*x*, *y*) under one perturbation at one strength.

    The perturbation's randomness is drawn from *seed* (numpy for events,
    torch for weights), so a call is reproducible.
    """
    (strength,) = check_perturbation(name, strength)
    rng = np.random.default_rng(seed)
    xs = perturb_inputs(x, name, strength, rng)
    data = (torch.as_tensor(xs), torch.as_tensor(np.asarray(y)))
    if name == "weight_noise":
        with weight_noise(model, strength, torch.Generator().manual_seed(int(seed))):
            return evaluate(model, loss_fn, data, batch_size=batch_size)["eval_accuracy"]
    return evaluate(model, loss_fn, data, batch_size=batch_size)["eval_accuracy"]
