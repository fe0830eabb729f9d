"""NumPy baseline for `./fedstream bench python`: the usual Python federated aggregation.

All k updates are held in memory as NumPy arrays (as a Flower server holds its `results`), then
aggregated with Flower's two weighted averages (flwr.server.strategy.aggregate):
  aggregate          reduce(np.add, [layer * num_examples ...]) / total   (list of products)
  aggregate_inplace  scaling_i * x, added in place into the first (np.add(..., out=x))
Prints one line of key=value pairs. Usage: numpy_baseline.py K N VARIANT REPEATS
"""
import resource
import sys
import time
from functools import partial, reduce

import numpy as np


def aggregate(results):
    # flwr.server.strategy.aggregate.aggregate
    num_examples_total = sum(num_examples for (_, num_examples) in results)
    weighted_weights = [
        [layer * num_examples for layer in weights] for weights, num_examples in results
    ]
    return [
        reduce(np.add, layer_updates) / num_examples_total
        for layer_updates in zip(*weighted_weights)
    ]


def _try_inplace(x, y, np_binary_op):
    return (
        np_binary_op(x, y, out=x)
        if np.can_cast(y, x.dtype, casting="same_kind")
        else np_binary_op(x, np.array(y, x.dtype), out=x)
    )


def aggregate_inplace(results):
    # flwr.server.strategy.aggregate.aggregate_inplace (ndarrays instead of FitRes)
    num_examples_total = sum(num for (_, num) in results)
    scaling_factors = np.asarray([num / num_examples_total for (_, num) in results])
    params = [scaling_factors[0] * x for x in results[0][0]]
    for i, (weights, _) in enumerate(results[1:], start=1):
        res = (scaling_factors[i] * x for x in weights)
        params = [
            reduce(partial(_try_inplace, np_binary_op=np.add), layer_updates)
            for layer_updates in zip(params, res)
        ]
    return params


def main():
    k, n, variant, repeats = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    fn = {"aggregate": aggregate, "aggregate_inplace": aggregate_inplace}[variant]
    rng = np.random.default_rng(1)
    nums = [int(v) for v in rng.integers(1, 1000, k)]
    # one layer of n float32 per update, as decoded from the wire
    results = [
        ([(rng.standard_normal(n, dtype=np.float32) * np.float32(1e-3))], nums[i])
        for i in range(k)
    ]
    best = float("inf")
    out = None
    for _ in range(repeats + 1):  # the first run warms up
        t = time.perf_counter()
        out = fn(results)
        best = min(best, time.perf_counter() - t)
        del out
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(
        f"k={k} variant={variant} seconds={best:.6f} updates_per_s={k / best:.3f}"
        f" peak_rss_mb={peak_mb:.1f} numpy={np.__version__}"
        f" out_dtype={fn(results[:2])[0].dtype}"
    )


if __name__ == "__main__":
    main()
