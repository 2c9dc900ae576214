"""Data shared by every family: IDX loaders with checksums and the cache
(:mod:`.datasets`), input encodings -- rates, latency codes, Randman --
(:mod:`.encoding`) and event streams such as N-MNIST (:mod:`.event_streams`).
Nothing here imports Brian2 or PyTorch."""
