# session 11, commit 7c18913 + records, AMD EPYC 2 cores, beside one N_E = 6400 training run (load average 2.5)
python benchmarks/bench_training.py --sizes 400 6400 --runtime-sizes --float32 --rest-jumps 130 --compare-model hao-2020-error-readout --data-dir ../shared/data --json benchmarks/results/amd-epyc-2026-12-06/error_readout_speed.json
