"""Input coding, output decoding and the classification loss of TTFS networks.

* Input: one spike per pixel, ``t = t_in * (1 - x)`` for intensity
  ``x`` in [0, 1]: the brightest pixels fire first, a black pixel fires at
  the end of the input window ``t_in`` (it still fires).  This is the coding
  recalled for the predecessor paper (Sakemi et al. TNNLS 2023) in
  ``shared/related-work.md`` section 1.2 ([R]: not checked against its text).
* Output: the class of the earliest output spike.  A silent output neuron
  (time ``+inf``) never wins; a sample whose outputs are all silent gets the
  prediction ``-1`` (no decision, counted as an error).
* Loss: softmax cross-entropy on the negative output times,
  ``p_k = softmax(-t_k / sigma)``.  Silent outputs enter the softmax at the
  window end ``t_max`` (as the latest possible time), with zero gradient.
  The predecessor's auxiliary timing term could not be retrieved and is not
  implemented.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["encode_images", "predict", "output_logits", "ttfs_cross_entropy"]


def encode_images(images, t_in=1.0, n_pixels=None, dtype=torch.float32):
    """Pixel intensities to one input spike time per pixel.

    Parameters
    ----------
    images : array_like
        Intensities in [0, 1], shape ``(n, ...)`` (e.g. ``(n, 28, 28)`` or
        ``(n, 784)``); flattened to ``(n, n_pixels)``.
    t_in : float
        Input window: intensity 1 fires at 0, intensity 0 at ``t_in`` (> 0).
    n_pixels : int, optional
        Expected number of pixels per image; checked when given.
    dtype : torch.dtype

    Returns
    -------
    torch.Tensor
        Spike times ``t_in * (1 - x)``, shape ``(n, n_pixels)``.

    Raises
    ------
    ValueError
        Values outside [0, 1] or NaN (e.g. raw ``uint8`` images: divide by
        255 first), fewer than 2 dimensions, a pixel count other than
        *n_pixels*, or ``t_in <= 0``.
    """
    if not t_in > 0:
        raise ValueError(f"t_in must be > 0; got {t_in}")
    x = np.asarray(images)
    if x.ndim < 2:
        raise ValueError(f"images must have shape (n, ...) with one image per row; got shape {x.shape}")
    x = x.reshape(len(x), -1)
    if n_pixels is not None and x.shape[1] != n_pixels:
        raise ValueError(f"expected {n_pixels} pixels per image, got {x.shape[1]} (shape {np.shape(images)})")
    if x.size and (np.isnan(x).any() or x.min() < 0 or x.max() > 1):
        raise ValueError(f"pixel intensities must lie in [0, 1]; got range [{np.nanmin(x)}, "
                         f"{np.nanmax(x)}]{' with NaN' if np.isnan(x).any() else ''} "
                         "(for uint8 images divide by 255)")
    return torch.as_tensor(t_in * (1.0 - x), dtype=dtype)


def predict(t_out):
    """Class of the earliest output spike; ``-1`` where no output fired.

    Parameters
    ----------
    t_out : torch.Tensor
        Output spike times ``(batch, n_classes)``, ``+inf`` = silent.

    Returns
    -------
    torch.Tensor
        ``int64``, shape ``(batch,)``.  Ties go to the lowest class index.
    """
    winner = torch.argmin(t_out, dim=1)
    return torch.where(torch.isfinite(t_out).any(dim=1), winner, -1)


def output_logits(t_out, t_max, sigma):
    """``-t / sigma``, silent outputs read as ``t_max`` (constant, no gradient)."""
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    return -torch.where(torch.isfinite(t_out), t_out, t_max) / sigma


def ttfs_cross_entropy(t_out, labels, t_max, sigma):
    """Mean softmax cross-entropy of ``softmax(-t_out / sigma)`` against *labels*.

    Parameters
    ----------
    t_out : torch.Tensor
        ``(batch, n_classes)`` output spike times.
    labels : torch.Tensor
        ``(batch,)`` integer class labels.
    t_max : float
        Window end; the time a silent output is read as.
    sigma : float
        Temperature (> 0), in the units of time.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return F.cross_entropy(output_logits(t_out, t_max, sigma), labels.long())
