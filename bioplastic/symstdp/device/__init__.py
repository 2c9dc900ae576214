"""The sym-STDP family's device layer: one network, three devices chosen by name.

:mod:`.engine` (compile once, run chunks with ``run_args``, checkpoints),
:mod:`.codegen` and ``templates/`` (bioplastic's C++ templates: dense synapses,
calendar threshold, lean main loop), :mod:`.cuda` (brian2cuda set-up) and
:mod:`.build` (build folders and ``make`` jobs, shared by the other three).
"""
