# session 9, commit 2b98d89, AMD EPYC 2 cores beside other runs
cd <checkout> && python protocols/unsupervised_mnist.py --n-hidden 400 --epochs 3 --n-train all --n-test all --eval-every 20000 --n-eval 1000 --seed 0 --data-dir ../shared/data --out runs/dc400_e3
