#!/usr/bin/env python3
"""scikit-learn's answers for fixed point sets, the reference SklearnClustersTest compares
Dbscan, Elbow and KMeans against.

Prints to stdout, or writes the file given as the first argument; the committed fixture
sklearn-clusters.txt beside it is its output. The points come from numpy's legacy RandomState with fixed seeds (stable across
numpy versions) and are rounded to float32, so Java reads exactly the points sklearn clustered.

Format, one record a line:
  set <name> <n> <dim>
  p <x_1> ... <x_dim>                      n lines, the set's points
  groups <g_1> ... <g_n>                   the direction each point was drawn around, -1 = outlier
  kdist <k> <d_1> ... <d_n>                sorted cosine distances to the k-th other point
  dbscan <eps> <min_samples> <l_1> ... <l_n>   labels, -1 = noise
  kmeans <k> <inertia> <l_1> ... <l_n>     labels of KMeans on the L2-normalised points
Regenerate: /usr/bin/python3 sklearn_clusters.py sklearn-clusters.txt (needs python3-sklearn).
"""
import sys

import numpy as np
import sklearn
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics.pairwise import cosine_distances
from sklearn.neighbors import NearestNeighbors


def directions(seed, dim, centres, per_centre, spread, outliers):
    rng = np.random.RandomState(seed)
    axes = rng.normal(size=(centres, dim))
    points = [a + spread * rng.normal(size=dim) for a in axes for _ in range(per_centre)]
    points += [rng.normal(size=dim) for _ in range(outliers)]
    group = [c for c in range(centres) for _ in range(per_centre)] + [-1] * outliers
    order = rng.permutation(len(points))  # interleave the groups: labels are not index blocks
    return np.array(points)[order].astype(np.float32), np.array(group)[order]


SETS = [
    # name, points, [(eps, min_samples)], [k for KMeans]; the small radii leave members as noise
    # and border points
    ("three-groups", directions(11, 8, 3, 8, 0.08, 2), [(0.05, 3), (0.0025, 3), (0.0035, 4), (0.0012, 2)], [3]),
    ("five-groups", directions(23, 16, 5, 6, 0.05, 4), [(0.02, 3), (0.0015, 3), (0.002, 4)], [5, 4]),
    ("loose", directions(37, 4, 2, 12, 0.25, 3), [(0.08, 4), (0.012, 3), (0.02, 5)], [2]),
]


def fmt(x):
    return repr(float(x))


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else sys.stdout
    out.write("# scikit-learn %s, numpy %s\n" % (sklearn.__version__, np.__version__))
    for name, (pts, group), dbscans, ks in SETS:
        x = pts.astype(np.float64)  # exact widening, as Java's (double) float
        n, dim = x.shape
        out.write("set %s %d %d\n" % (name, n, dim))
        for row in pts:
            out.write("p " + " ".join(fmt(v) for v in row) + "\n")
        out.write("groups " + " ".join(str(g) for g in group) + "\n")
        d = cosine_distances(x)
        for k in (1, 2, 3):
            # the point itself is its own nearest neighbour at 0: ask for k + 1
            nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(x)
            dist, _ = nn.kneighbors(x)
            out.write("kdist %d %s\n" % (k, " ".join(fmt(v) for v in np.sort(dist[:, k]))))
        for eps, m in dbscans:
            margin = np.min(np.abs(d[~np.eye(n, dtype=bool)] - eps))
            if margin < 1e-6:  # a pair this close to eps is decided by rounding, not the algorithm
                raise SystemExit("%s: a distance within %g of eps %g" % (name, margin, eps))
            labels = DBSCAN(eps=eps, min_samples=m, metric="cosine", algorithm="brute").fit(x).labels_
            out.write("dbscan %s %d %s\n" % (fmt(eps), m, " ".join(str(l) for l in labels)))
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        for k in ks:
            km = KMeans(n_clusters=k, n_init=20, random_state=0).fit(unit)
            out.write("kmeans %d %s %s\n" % (k, fmt(km.inertia_), " ".join(str(l) for l in km.labels_)))
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
