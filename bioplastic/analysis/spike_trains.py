"""Statistics of recorded spike trains with Elephant, as a tidy table.

Works on any ``neo.Block`` whose segments hold ``neo.SpikeTrain`` objects
annotated with ``layer`` and ``neuron`` -- what
:meth:`bioplastic.symstdp.estimator.SpikeRecord.to_neo` returns
(``clf.spikes(X).to_neo()``).  Needs the ``neo`` extra
(``pip install -e ".[neo]"``: Neo and Elephant).
"""

from __future__ import annotations

import numpy as np

__all__ = ["spike_train_statistics"]


def spike_train_statistics(block):
    """One row per segment (sample), layer and neuron: spike count, mean rate, ISI CV.

    Parameters
    ----------
    block : neo.Block
        Segments of annotated spike trains (``SpikeRecord.to_neo()``).

    Returns
    -------
    pandas.DataFrame
        Columns ``sample`` (the segment's index), ``layer``, ``neuron``,
        ``spikes``, ``rate_Hz`` (Elephant's ``mean_firing_rate`` over the
        train's ``[t_start, t_stop]``) and ``cv_isi`` (Elephant's ``cv`` of the
        inter-spike intervals; NaN with fewer than three spikes).
    """
    import elephant.statistics as es
    import pandas as pd
    import quantities as pq

    rows = []
    for k, seg in enumerate(block.segments):
        sample = seg.index if seg.index is not None else k
        for st in seg.spiketrains:
            n = len(st)
            rows.append({
                "sample": int(sample),
                "layer": st.annotations.get("layer", st.name),
                "neuron": int(st.annotations.get("neuron", -1)),
                "spikes": n,
                "rate_Hz": float(es.mean_firing_rate(st).rescale(pq.Hz).magnitude),
                "cv_isi": float(es.cv(es.isi(st).magnitude)) if n >= 3 else np.nan,
            })
    return pd.DataFrame(rows, columns=["sample", "layer", "neuron", "spikes", "rate_Hz", "cv_isi"])
