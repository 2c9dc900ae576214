cd <checkout> && python protocols/supervised_fashion_mnist.py --n-hidden 100 --n-train 5000 --n-test 1000 --data-dir ../shared/data   # the default demonstration (commit f0baeb3)
