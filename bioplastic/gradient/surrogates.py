"""Surrogate derivatives of the spike nonlinearity (Zenke & Vogels 2021, Sec. 4.2.6).

The forward pass of every surrogate is the Heaviside step of ``x = U - 1``
(membrane potential minus threshold), with ``H(0) = 0``: a neuron spikes when
its potential *exceeds* the threshold.  The backward pass replaces the step's
derivative (a Dirac delta) by a smooth pseudo-derivative ``h(x)``:

===============  =====================================  ==========================
name             ``h(x)``                               smooth primitive (tests)
===============  =====================================  ==========================
``superspike``   ``1 / (beta |x| + 1)^2``  (peak 1)     ``x / (beta |x| + 1)``
``sigmoid``      ``s (1 - s)``, ``s = sigmoid(beta x)``  ``sigmoid(beta x) / beta``
``esser``        ``max(0, 1 - beta |x|)``  (peak 1)     clamp-based quadratic
``asymptotic``   ``beta / (beta |x| + 1)^2`` (peak beta) ``beta x / (beta |x| + 1)``
``constant``     ``1``  (the beta -> 0 limit)           ``x``
``true``         ``0``  (the exact derivative a.e.)     ``0``
===============  =====================================  ==========================

SuperSpike is Zenke & Ganguli (2018)'s fast sigmoid; the "asymptotic"
SuperSpike is the un-normalised form used in the paper's scale study (Fig. 5),
whose peak grows with ``beta``; the Esser et al. (2016) surrogate is piecewise
linear.  ``constant`` and ``true`` are the paper's controls (Fig. 2b, 3c);
they accept ``beta`` for a uniform interface and ignore it.

Each surrogate is a named :class:`torch.autograd.Function` (in the style of
snnTorch's ``surrogate.py``), wrapped by :class:`Surrogate`, which
:func:`get_surrogate` returns::

    spike_fn = get_surrogate("superspike", beta=10.0)
    S = spike_fn(U - 1.0)
"""

from __future__ import annotations

import dataclasses

import torch

__all__ = [
    "SURROGATES",
    "SuperSpike",
    "SigmoidPrime",
    "Esser",
    "AsymptoticSuperSpike",
    "ConstantSurrogate",
    "TrueGradient",
    "Surrogate",
    "get_surrogate",
]


def _heaviside(x):
    """H(x) with H(0) = 0, in the dtype of *x*."""
    return (x > 0).to(x.dtype)


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward; ``grad * derivative(x, beta)`` backward (subclasses define it)."""

    @staticmethod
    def derivative(x, beta):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, beta):  # noqa: D102 - torch API
        ctx.save_for_backward(x)
        ctx.beta = beta
        return _heaviside(x)

    @classmethod
    def backward(cls, ctx, grad_output):  # noqa: D102 - torch API
        (x,) = ctx.saved_tensors
        return grad_output * cls.derivative(x, ctx.beta), None


class SuperSpike(_SpikeFunction):
    """Fast sigmoid (SuperSpike): ``h(x) = 1 / (beta |x| + 1)^2``, peak 1."""

    @staticmethod
    def derivative(x, beta):
        return 1.0 / (beta * x.abs() + 1.0) ** 2

    @staticmethod
    def primitive(x, beta):
        return x / (beta * x.abs() + 1.0)


class SigmoidPrime(_SpikeFunction):
    """Derivative of the logistic function: ``h(x) = s (1 - s)``, ``s = sigmoid(beta x)``, peak 1/4."""

    @staticmethod
    def derivative(x, beta):
        s = torch.sigmoid(beta * x)
        return s * (1.0 - s)

    @staticmethod
    def primitive(x, beta):
        return torch.sigmoid(beta * x) / beta


class Esser(_SpikeFunction):
    """Piecewise linear (Esser et al. 2016): ``h(x) = max(0, 1 - beta |x|)``, peak 1."""

    @staticmethod
    def derivative(x, beta):
        return torch.clamp(1.0 - beta * x.abs(), min=0.0)

    @staticmethod
    def primitive(x, beta):
        # integral of max(0, 1 - beta|u|) from 0 to x: x - beta x|x|/2 inside, +-1/(2 beta) outside
        y = torch.clamp(x, -1.0 / beta, 1.0 / beta)
        return y - beta * y * y.abs() / 2.0


class AsymptoticSuperSpike(_SpikeFunction):
    """Un-normalised SuperSpike: ``h(x) = beta / (beta |x| + 1)^2``, peak ``beta``."""

    @staticmethod
    def derivative(x, beta):
        return beta / (beta * x.abs() + 1.0) ** 2

    @staticmethod
    def primitive(x, beta):
        return beta * x / (beta * x.abs() + 1.0)


class ConstantSurrogate(_SpikeFunction):
    """Control: ``h(x) = 1`` everywhere (the beta -> 0 limit); *beta* is ignored."""

    @staticmethod
    def derivative(x, beta):
        return torch.ones_like(x)

    @staticmethod
    def primitive(x, beta):
        return x.clone()


class TrueGradient(_SpikeFunction):
    """Control: the exact derivative of the step, 0 almost everywhere; *beta* is ignored."""

    @staticmethod
    def derivative(x, beta):
        return torch.zeros_like(x)

    @staticmethod
    def primitive(x, beta):
        return torch.zeros_like(x)


#: Surrogate names accepted by :func:`get_surrogate`, with their function classes.
SURROGATES = {
    "superspike": SuperSpike,
    "sigmoid": SigmoidPrime,
    "esser": Esser,
    "asymptotic": AsymptoticSuperSpike,
    "constant": ConstantSurrogate,
    "true": TrueGradient,
}


@dataclasses.dataclass(frozen=True)
class Surrogate:
    """A spike function with a named surrogate derivative and slope *beta*.

    Call it on ``x = U - threshold``; it returns ``H(x)`` (0/1, same dtype)
    whose backward pass uses :meth:`derivative`.  Instances are immutable,
    hashable and picklable (safe to send to worker processes).
    """

    name: str
    beta: float

    def __post_init__(self):
        if self.name not in SURROGATES:
            raise ValueError(f"unknown surrogate {self.name!r}; valid names: "
                             f"{', '.join(SURROGATES)}")
        beta = float(self.beta)
        if not beta > 0 or beta != beta or beta == float("inf"):
            raise ValueError(f"surrogate slope beta must be a finite number > 0, got {self.beta!r}")
        object.__setattr__(self, "beta", beta)

    @property
    def function(self):
        """The :class:`torch.autograd.Function` subclass."""
        return SURROGATES[self.name]

    def __call__(self, x):
        return self.function.apply(x, self.beta)

    def derivative(self, x):
        """The surrogate derivative ``h(x)`` (a tensor like *x*)."""
        return self.function.derivative(x, self.beta)

    def primitive(self, x):
        """A smooth function whose derivative is :meth:`derivative` (for tests and figures)."""
        return self.function.primitive(x, self.beta)


def get_surrogate(name, beta=10.0):
    """The spike function with surrogate derivative *name* and slope *beta*.

    Parameters
    ----------
    name : str
        One of ``superspike``, ``sigmoid``, ``esser``, ``asymptotic``,
        ``constant``, ``true`` (see the module docstring).
    beta : float
        Slope (steepness) parameter, > 0 (the paper's default is 10).  The
        controls ``constant`` and ``true`` ignore it.

    Returns
    -------
    Surrogate

    Raises
    ------
    ValueError
        For an unknown *name* (the message lists the valid ones) or a *beta*
        that is not a finite number > 0.
    """
    return Surrogate(name, beta)
