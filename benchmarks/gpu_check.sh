#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one command: the cpp/cuda consistency test
# and the training benchmark with cuda_standalone beside cpp_standalone on the same
# machine.  Written for a bare GPU machine without internet (this workplace's device
# tool), but runs anywhere with nvcc, a GPU and the package's dependencies.
#
#   bash benchmarks/gpu_check.sh [test] [bench SIZE...] [population] [evaluate RUN_DIR]
#
#   population: populations of 1, 8 and 32 networks at N_E = 400 on cuda_standalone, as total
#               samples per second against one network on one CPU core (issue 21's goal: 32 at
#               >= 10x); evaluate RUN_DIR: a trained run's test set through 10 and 100 copies
#               of its frozen network at once on cuda_standalone (goal at N_E = 6400: <= 60 s),
#               checked spike for spike against one process on the CPU.
#
# Optional inputs, read when present:
#   .whl/*.whl   wheels installed into /tmp/site first (brian2 2.8.0, brian2cuda 1.0a7
#                and a numpy < 2.3 for them; see setup.cfg), for a machine without them;
#   .gpudata/    a copy of the data folder (mnist/*.gz), used as BIOPLASTIC_DATA;
#   $OUT         a folder where the logs and the benchmark's JSON are written;
#   $BENCH_ARGS  more arguments for bench_training.py (e.g. "--chunk-size 100
#                --samples 200 --samples-large 200" for a short lease).
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
[ -d .gpudata ] && export BIOPLASTIC_DATA=$PWD/.gpudata
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
nvcc --version | tail -1
python3 -c "import numpy, brian2, brian2cuda, pandas, sklearn, bioplastic; \
print('numpy', numpy.__version__, 'brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__)" \
    || exit 1

bench=0
evaluate_next=0
sizes=()
for a in "$@"; do
    case "$a" in
        test) python3 -m pytest -p no:cacheprovider -m "gpu or cuda_compile" tests/test_cuda.py -v -rs \
                  2>&1 | tee "$OUT/pytest.log" ;;
        bench) bench=1 ;;
        population) python3 benchmarks/bench_training.py --sizes 400 --runtime-sizes \
                        --population 1 8 32 --population-workers 1 --population-device cuda_standalone \
                        --chunk-size 100 --samples 400 --json "$OUT/population.json" 2>&1 | tee "$OUT/population.log" ;;
        evaluate) evaluate_next=1 ;;
        *) if [ "$evaluate_next" = 1 ]; then
               python3 benchmarks/bench_evaluation.py --run "$a" --samples 10000 --workers 1 \
                   --copies 10 100 --device cuda_standalone --json "$OUT/evaluation.json" 2>&1 | tee "$OUT/evaluation.log"
               evaluate_next=0
           else
               sizes+=("$a")
           fi ;;
    esac
done
if [ "$bench" = 1 ]; then
    python3 benchmarks/bench_training.py --sizes "${sizes[@]}" --cuda --runtime-sizes ${BENCH_ARGS:-} \
        --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"
fi
