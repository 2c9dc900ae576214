"""Activity regularisers on spike counts (Zenke & Vogels 2021, Sec. 4.2.7).

With ``zeta_i^(k) = sum_n S_i^(k)[n]`` the spike count of hidden neuron ``i``
on input ``k`` of a minibatch:

* :func:`lower_bound` (per neuron, keeps neurons from falling silent)::

      g_lower = lambda_lower * mean_{k,i} relu(nu_lower - zeta_i^(k))^2

  Table 1 (Randman): ``lambda_lower = 100``, ``nu_lower = 1e-3``.

* :func:`upper_bound` (population, limits the mean activity)::

      g_upper = lambda_upper * mean_k relu(mean_i zeta_i^(k) - nu_upper)^L,  L in {1, 2}

  The paper's constants for the sparse-activity sweep were not retrieved; the
  defaults ``lambda_upper = 0.1``, ``nu_upper = 4`` spikes, ``L = 2`` are those of
  the authors' stork Randman example (``UpperBoundL2(0.1, 4, dims=1)``).
  ``nu_upper`` is a spike *count* per trial, not a rate.
"""

from __future__ import annotations

import torch

__all__ = ["LOWER_DEFAULTS", "UPPER_DEFAULTS", "spike_counts", "lower_bound", "upper_bound"]

#: Table 1 of the paper (Randman).
LOWER_DEFAULTS = {"strength": 100.0, "threshold": 1e-3}
#: stork's Randman example (the paper's own values were not retrieved).
UPPER_DEFAULTS = {"strength": 0.1, "threshold": 4.0, "power": 2}


def spike_counts(spikes):
    """Spike counts ``(batch, neurons)`` of a ``(batch, time, neurons)`` spike tensor."""
    if spikes.dim() != 3:
        raise ValueError(f"spikes must have shape (batch, time, neurons), got {tuple(spikes.shape)}")
    return spikes.sum(dim=1)


def _check(strength, threshold):
    if not strength >= 0:
        raise ValueError(f"regulariser strength must be >= 0, got {strength}")
    if not threshold >= 0:
        raise ValueError(f"regulariser threshold (a spike count) must be >= 0, got {threshold}")


def lower_bound(spikes, strength=LOWER_DEFAULTS["strength"], threshold=LOWER_DEFAULTS["threshold"]):
    """Per-neuron lower bound ``strength * mean_{k,i} relu(threshold - zeta_i^(k))^2``.

    Parameters
    ----------
    spikes : torch.Tensor
        Hidden spikes, ``(batch, time, neurons)``.
    strength : float
        ``lambda_lower`` (>= 0).
    threshold : float
        ``nu_lower``, a spike count (>= 0).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    _check(strength, threshold)
    return strength * torch.relu(threshold - spike_counts(spikes)).pow(2).mean()


def upper_bound(spikes, strength=UPPER_DEFAULTS["strength"], threshold=UPPER_DEFAULTS["threshold"],
                power=UPPER_DEFAULTS["power"]):
    """Population upper bound ``strength * mean_k relu(mean_i zeta_i^(k) - threshold)^power``.

    Parameters
    ----------
    spikes : torch.Tensor
        Hidden spikes, ``(batch, time, neurons)``.
    strength : float
        ``lambda_upper`` (>= 0).
    threshold : float
        ``nu_upper``: mean spike count per neuron and trial (>= 0).
    power : {1, 2}
        ``L``.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    _check(strength, threshold)
    if power not in (1, 2):
        raise ValueError(f"power must be 1 or 2, got {power!r}")
    population = spike_counts(spikes).mean(dim=1)
    return strength * torch.relu(population - threshold).pow(power).mean()
