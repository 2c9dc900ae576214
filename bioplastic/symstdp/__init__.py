"""The supervised sym-STDP network of Hao, Huang, Dong & Xu (2020), in Brian2.

The model, one mechanism a module: parameter tables (:mod:`.params`),
neuron equations (:mod:`.neurons`) and their integrators (:mod:`.integrators`),
plasticity rules (:mod:`.plasticity`), the in-model schedule (:mod:`.schedule`),
the assembled network (:mod:`.network`); the chunked training and evaluation
phases (:mod:`.training`) and the experiment behind the protocols
(:mod:`.experiment`).  The device layer (runtime, cpp_standalone,
cuda_standalone; code generation and templates) is :mod:`.device`.
Importing this package does not import Brian2.
"""

#: Names importable from here, by module (imported on first use: Brian2 only then).
_LAZY = {
    "PlasticityRule": "plasticity", "Trace": "plasticity", "sym_stdp": "plasticity",
    "diehl_cook_stdp": "plasticity",
    "HiddenNeuron": "neurons", "HAO_2020_NEURON": "neurons", "DIEHL_COOK_NEURON": "neurons",
    "NetworkModel": "models", "MODELS": "models",
}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
