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
