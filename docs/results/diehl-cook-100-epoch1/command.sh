# session 9, commit 4f74d9e, AMD EPYC 2 cores beside other runs
cd <checkout> && python protocols/unsupervised_mnist.py --n-hidden 100 --epochs 1 --n-train all --n-test all --eval-every 20000 --n-eval 1000 --seed 0 --data-dir ../shared/data --out runs/dc100_e1_a10k
