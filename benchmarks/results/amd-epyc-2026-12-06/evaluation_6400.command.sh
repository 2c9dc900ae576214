# session 9, commit 85b4251, AMD EPYC 2 cores, the two background training runs paused (kill -STOP) for the measurement
# RUN = the MNIST N_E = 6400 run of docs/results/mnist-6400-tau-theta-6e7-rest-jump-130-validation (float32, tau_theta 6e7, rest jump 130 ms)
python benchmarks/bench_evaluation.py --run RUN --samples 10000 --workers 1 2 --data-dir ../shared/data --json evaluation_6400.json
