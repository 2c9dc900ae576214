# session 9, commit 4f74d9e, AMD EPYC 2 cores beside other runs (paused for about 20 minutes during a CI run)
cd <checkout> && python protocols/unsupervised_mnist.py --model diehl-cook-2015-delays --n-hidden 400 --epochs 3 --n-train all --n-test all --eval-every 20000 --n-eval 1000 --seed 0 --data-dir ../shared/data --out runs/dcd400_e3
