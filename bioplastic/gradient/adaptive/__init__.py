"""Adaptive synaptic scaling for robustness and continual learning (after Xu et al. 2025).

:mod:`.scaling` (the scaling rules, hypotheses: see docs/adaptive_scaling.rst),
:mod:`.network` (the network with scaling), :mod:`.robustness` (perturbations),
:mod:`.continual` (task splits, EWC and replay baselines), :mod:`.figures`,
:mod:`.experiment` (the protocols' shared options, data, model, run directory
and cells) and :mod:`.studies` (the bodies of
``protocols/adaptive_scaling_{robustness,continual,homeostasis}.py``).
"""
