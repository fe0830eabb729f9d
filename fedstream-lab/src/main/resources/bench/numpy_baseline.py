"""NumPy baseline for `./fedstream bench python`: federated averaging as a Flower server runs it.

This reproduces, with the same sequence of NumPy operations (written here, not copied from
Flower), what Flower's FedAvg.aggregate_fit (flwr.server.strategy) does with k client results:

- Wire form. Each client result is a FitRes whose Parameters hold one bytes object per tensor in
  .npy format (flwr.common.ndarray_to_bytes: np.save into a BytesIO, allow_pickle=False). The
  tensors follow the LoRA layout of BenchSites.loraSpec: LAYERS layers x (q_proj, v_proj) x
  (lora_A [RANK, HIDDEN], lora_B [HIDDEN, RANK]), float32; 32 layers give 128 tensors and
  4,194,304 values (16.8 MB). Values are uniform in [-1e-3, 1e-3] as BenchSites makes them, and
  num_examples is a random integer in [1, 999]. Generating them is not timed.
- `flower_inplace` (inplace=True, Flower's default): aggregate_inplace. The scaling factors are
  num_examples / total as a float64 array. The first result is decoded (np.load of each tensor's
  bytes, flwr.common.parameters_to_ndarrays) and each tensor multiplied in place by its factor;
  then each further result in turn is decoded inside the loop, each tensor multiplied in place by
  its factor and added in place into the running tensor. In-place means np.multiply/np.add with
  out=x when np.can_cast(factor or operand, x.dtype, "same_kind"), else with the operand cast to
  x.dtype first.
- `flower_aggregate` (inplace=False): every result decoded first (a list of (ndarrays,
  num_examples)), then aggregate: a list of layer * num_examples per result, reduce(np.add) per
  layer, divided by the total.
  Both then encode the new parameters back to .npy bytes (ndarrays_to_parameters), as
  aggregate_fit returns them.
- `arrays_inplace`, `arrays_aggregate`: the same two averages on updates held as already decoded
  float32 arrays (NumPy's best case: no decoding, no encoding of the result). The in-place one
  multiplies the held arrays in place as Flower does, so before each run the arrays are refilled
  with fresh values (not timed; no second copy is held).

Timing: the best of REPEATS runs after one warm-up run. Peak memory: ru_maxrss of this process
(generation included, so it is at least the k updates held).
Prints one line of key=value pairs.
Usage: numpy_baseline.py K LAYERS HIDDEN RANK VARIANT REPEATS
       numpy_baseline.py check   (every variant against a float64 weighted mean, on a small layout)
"""
import io
import resource
import sys
import time
from functools import reduce

import numpy as np


class FitRes:
    """What the server keeps of one client's result: its parameters (.npy bytes) and count."""

    def __init__(self, tensors, num_examples):
        self.tensors = tensors  # list of bytes, one per tensor
        self.num_examples = num_examples


def to_npy(array):
    """One tensor in Flower's wire form: np.save into a BytesIO, without pickle."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def from_npy(data):
    """One tensor back from its .npy bytes, as Flower decodes it."""
    return np.load(io.BytesIO(data), allow_pickle=False)


def decode(tensors):
    return [from_npy(t) for t in tensors]


def encode(arrays):
    return [to_npy(a) for a in arrays]


def in_place(op, x, y):
    """op(x, y) written into x; y is cast to x's dtype first unless same-kind casting allows it."""
    if not np.can_cast(y, x.dtype, casting="same_kind"):
        y = np.array(y, x.dtype)
    return op(x, y, out=x)


def mean_in_place(updates, count, tensors_of):
    """Weighted mean, in place into the first update; tensors_of(u) gives u's arrays."""
    total = sum(count(u) for u in updates)
    factors = np.asarray([count(u) / total for u in updates])  # float64
    running = [in_place(np.multiply, x, factors[0]) for x in tensors_of(updates[0])]
    for i in range(1, len(updates)):
        scaled = (in_place(np.multiply, x, factors[i]) for x in tensors_of(updates[i]))
        running = [in_place(np.add, acc, x) for acc, x in zip(running, scaled)]
    return running


def mean_of_products(pairs):
    """Weighted mean of (arrays, num_examples) pairs: products, reduce(np.add), divide."""
    total = sum(n for _, n in pairs)
    products = [[layer * n for layer in arrays] for arrays, n in pairs]
    return [reduce(np.add, per_layer) / total for per_layer in zip(*products)]


def flower_inplace(results):
    return encode(mean_in_place(results, lambda r: r.num_examples, lambda r: decode(r.tensors)))


def flower_aggregate(results):
    pairs = [(decode(r.tensors), r.num_examples) for r in results]
    return encode(mean_of_products(pairs))


def arrays_inplace(held):
    return mean_in_place(held, lambda h: h[1], lambda h: h[0])


def arrays_aggregate(held):
    return mean_of_products(held)


def lora_shapes(layers, hidden, rank):
    shapes = []
    for _ in range(layers):
        for _proj in ("q_proj", "v_proj"):
            shapes.append((rank, hidden))  # lora_A
            shapes.append((hidden, rank))  # lora_B
    return shapes


def fill(rng, x):
    """Uniform values in [-1e-3, 1e-3], written into x."""
    rng.random(out=x.reshape(-1), dtype=np.float32)
    x -= np.float32(0.5)
    x *= np.float32(2e-3)


def check():
    """Every variant on the same small updates against the float64 weighted mean; exit 1 if off."""
    k, shapes = 5, lora_shapes(2, 16, 2)
    rng = np.random.default_rng(7)
    nums = [int(v) for v in rng.integers(1, 1000, k)]
    arrays = []
    for _ in range(k):
        update = [np.empty(s, dtype=np.float32) for s in shapes]
        for x in update:
            fill(rng, x)
        arrays.append(update)
    total = sum(nums)
    expected = [
        sum(arrays[i][t].astype(np.float64) * nums[i] for i in range(k)) / total
        for t in range(len(shapes))
    ]
    results = [FitRes(encode(arrays[i]), nums[i]) for i in range(k)]
    outs = {
        "flower_inplace": decode(flower_inplace(results)),
        "flower_inplace_again": decode(flower_inplace(results)),  # the held bytes are untouched
        "flower_aggregate": decode(flower_aggregate(results)),
        "arrays_aggregate": arrays_aggregate([(arrays[i], nums[i]) for i in range(k)]),
        # last: it scales the held arrays in place
        "arrays_inplace": arrays_inplace([(arrays[i], nums[i]) for i in range(k)]),
    }
    bad = []
    for name, out in outs.items():
        ok = len(out) == len(expected) and all(
            o.dtype == np.float32
            and o.shape == e.shape
            and np.allclose(o, e, rtol=1e-5, atol=1e-9)
            for o, e in zip(out, expected)
        )
        if not ok:
            bad.append(name)
    if bad:
        print("check failed: " + " ".join(bad))
        sys.exit(1)
    print("check ok: " + " ".join(outs))


def main():
    if sys.argv[1:] == ["check"]:
        check()
        return
    k, layers, hidden, rank = (int(a) for a in sys.argv[1:5])
    variant, repeats = sys.argv[5], int(sys.argv[6])
    fn = {
        "flower_inplace": flower_inplace,
        "flower_aggregate": flower_aggregate,
        "arrays_inplace": arrays_inplace,
        "arrays_aggregate": arrays_aggregate,
    }[variant]
    shapes = lora_shapes(layers, hidden, rank)
    rng = np.random.default_rng(1)
    nums = [int(v) for v in rng.integers(1, 1000, k)]
    wire = variant.startswith("flower_")
    updates = []
    for i in range(k):
        arrays = [np.empty(s, dtype=np.float32) for s in shapes]
        for x in arrays:
            fill(rng, x)
        if wire:
            updates.append(FitRes(encode(arrays), nums[i]))  # only the bytes are kept
        else:
            updates.append((arrays, nums[i]))
        del arrays
    values = sum(int(np.prod(s)) for s in shapes)
    best = float("inf")
    for _ in range(repeats + 1):  # the first run warms up
        if variant == "arrays_inplace":
            for arrays, _n in updates:  # the last run scaled them in place: fresh values
                for x in arrays:
                    fill(rng, x)
        t = time.perf_counter()
        out = fn(updates)
        best = min(best, time.perf_counter() - t)
        del out
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    sample = fn(updates[:2])
    out_dtype = from_npy(sample[0]).dtype if wire else sample[0].dtype
    print(
        f"k={k} variant={variant} tensors={len(shapes)} values={values}"
        f" seconds={best:.6f} updates_per_s={k / best:.3f}"
        f" gb_per_s={k * values * 4 / best / 1e9:.3f}"
        f" peak_rss_mb={peak_mb:.1f} numpy={np.__version__} out_dtype={out_dtype}"
    )


if __name__ == "__main__":
    main()
