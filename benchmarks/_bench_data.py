"""Scratch data prep for bench_predictors_quick.py (encodings from space.dense())."""
import os
import numpy as np
from benchmark import get_space

LABELS = "/work/shared/data/nb101-exhaustive/test_accuracy_108_repeat0.npy"
SIZES = (100, 424, 4236, 42362)
CACHE = "/tmp/nb101_bench_cache.npz"


def split(seed=0):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(423624)
    return perm[100_000:], perm[:100_000]   # train pool, test


def _dense_padded(idx):
    space = get_space()
    adj, lab = space.dense(idx)
    nv = space.num_vertices[idx].astype(int)
    # move output vertex to position 6
    A = np.zeros_like(adj)
    L = np.full_like(lab, -3)
    for i in range(len(idx)):
        n = nv[i]
        order = list(range(n - 1)) + [6]
        A[i][np.ix_(order, order)] = adj[i][:n, :n]
        L[i][order] = lab[i][:n]
    return A, L, nv


def adjacency(A, L):
    iu = np.triu_indices(7, 1)
    a = A[:, iu[0], iu[1]].astype(np.float32)
    ops = np.zeros((len(A), 5, 3), np.float32)
    for k in range(3):
        ops[:, :, k] = L[:, 1:6] == k
    return np.concatenate([a, ops.reshape(len(A), 15)], 1)


def paths(A, L):
    out = np.zeros((len(A), 364), np.float32)
    offs = np.cumsum([0, 1, 3, 9, 27, 81])
    for i in range(len(A)):
        succ = [np.flatnonzero(A[i][v]) for v in range(7)]
        stack = [(0, 0, 0)]  # vertex, length, code
        while stack:
            v, ln, code = stack.pop()
            for w in succ[v]:
                if w == 6:
                    out[i, offs[ln] + code] = 1
                else:
                    stack.append((w, ln + 1, code * 3 + int(L[i][w])))
    return out


def load():
    if os.path.exists(CACHE):
        d = np.load(CACHE)
        return {k: d[k] for k in d.files}
    pool, test = split()
    idx = np.concatenate([pool[:SIZES[-1]], test])
    A, L, nv = _dense_padded(idx)
    y = np.load(LABELS)[idx]
    d = dict(idx=idx, A=A, L=L, adj=adjacency(A, L), path=paths(A, L), y=y)
    np.savez(CACHE, **d)
    return d


def graphs(A, L):
    import torch
    from torch_geometric.data import Data
    col = {-1: 0, -2: 1, 0: 2, 1: 3, 2: 4}
    out = []
    for a, lab in zip(A, L):
        keep = np.flatnonzero(lab != -3)
        sub = a[np.ix_(keep, keep)]
        x = np.zeros((len(keep), 5), np.float32)
        x[np.arange(len(keep)), [col[int(v)] for v in lab[keep]]] = 1
        ei = np.stack(np.nonzero(sub)).astype(np.int64)
        out.append(Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(ei)))
    return out
