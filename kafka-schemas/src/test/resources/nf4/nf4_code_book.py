# The NF4 code book as QLoRA builds it (bitsandbytes functional.create_normal_map,
# offset 0.9677083, use_extra_value=True), with NumPy and SciPy instead of torch:
# 8 positive and 7 negative quantiles of N(0, 1), an exact 0, normalised by the largest.
import numpy as np
from scipy.stats import norm

offset = 0.9677083
v1 = norm.ppf(np.linspace(offset, 0.5, 9)[:-1]).tolist()
v3 = (-norm.ppf(np.linspace(offset, 0.5, 8)[:-1])).tolist()
v = np.array(sorted(v1 + [0.0] + v3))
v = v / v.max()
for x in v:
    print(repr(float(np.float32(x))))
