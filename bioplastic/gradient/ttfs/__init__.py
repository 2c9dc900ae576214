"""Time-to-first-spike (TTFS) networks with exact spike-time gradients.

The family of Sakemi et al. (2023, Sci Rep 13:22897, arXiv 2307.13007;
predecessor: Sakemi et al. 2023, IEEE TNNLS 34(1):394-408, arXiv 2001.05348):
every neuron is a non-leaky integrate-and-fire neuron driven by step synaptic
currents, fires at most once, and carries information in the time of that
spike; training backpropagates through the spike times themselves.

Modules (import them one by one; this package imports nothing heavy):

* :mod:`.neuron`   exact firing times (causal-set method) and gradients;
* :mod:`.coding`   pixel -> input spike time, output decoding, the loss;
* :mod:`.regularizers`  M-SSR and F-SSR (hypotheses, see their docstrings);
* :mod:`.network`  the multilayer perceptron and its spike statistics;
* :mod:`.conv`     convolutional layers and min-pooling (no protocol/bridge yet);
* :mod:`.training` the adapter to the family-wide training loop;
* :mod:`.bridge`   the trained network as Brian2 equations;
* :mod:`.figures`  plots from saved runs (does not import torch);
* :mod:`.experiment`  a training run and the Brian2 check of a trained run
  (the bodies of ``protocols/ttfs_mnist.py`` and ``ttfs_bridge_check.py``);
* :mod:`.sweep`    the regulariser sweep of ``protocols/ttfs_sweep.py``.

See ``docs/ttfs.rst``.
"""
