# session 8, commit a8c9a89 (checkout = a worktree of it), AMD EPYC 2 cores, beside two N_E = 6400 runs
cd <checkout> && PYTHONPATH=<checkout> BIOPLASTIC_BUILD_DIR=runs/build-s8d python protocols/supervised_fashion_mnist.py --n-hidden 400 --n-train all --n-test all --seed 0 --data-dir ../shared/data --out runs/f400_e1
