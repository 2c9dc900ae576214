# session 10, AMD EPYC 2 cores (KVM guest), the background training run paused (kill -STOP); after the int32 offset of the dense population templates
# population_400.json (4000 timed samples per configuration):
cd <checkout> && python benchmarks/bench_training.py --sizes 400 --runtime-sizes --population 2 --population-workers 2 --samples 4000 --data-dir ../shared/data --json population_400.json
# population_400_2_4.json:
cd <checkout> && python benchmarks/bench_training.py --sizes 400 --runtime-sizes --population 2 4 --samples 1000 --data-dir ../shared/data --json population_400_2_4.json
