"""Analysis shared by every family, over arrays and saved runs: readouts
(:mod:`.readout`: label layer and neuron assignment), clustering of weights and
activity (:mod:`.clustering`: t-SNE, cluster quality), spike-train statistics
with Elephant (:mod:`.spike_trains`, over ``SpikeRecord.to_neo()``) and figure
functions (:mod:`.figures`: data in, Axes out).  Nothing here simulates."""
