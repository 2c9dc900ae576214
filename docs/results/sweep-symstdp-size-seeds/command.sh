# session 7, commit 4d16a5f, AMD EPYC 2 cores (1 Dask worker; beside other runs); wall time 56 min 16 s
BIOPLASTIC_DATA=../shared/data python -m bioplastic.sweep protocols/sweeps/symstdp_size_seeds.toml --out runs/sweep-size-seeds --workers 1
