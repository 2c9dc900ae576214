# session 9, commit 4f74d9e, AMD EPYC 2 cores beside other runs (paused for about 20 minutes during a CI run)
cd <checkout> && python protocols/unsupervised_mnist.py --n-hidden 1600 --epochs 7 --n-train all --n-test all --eval-every 30000 --n-eval 1000 --seed 0 --data-dir ../shared/data --out runs/dc1600_e7
