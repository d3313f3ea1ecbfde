"""PyTorch peer of `neural train onnx-models/specs/mnist_cnn.json --data fashion-mnist --epochs 1 --batch-size 64`.

Same data (Debian's Fashion-MNIST train set, first --samples images, x/255), same model (Conv32-Pool-Conv64-Pool-
Conv64-Dense64-Dense10 softmax, Keras's Glorot-uniform kernels and zero biases), same loss (sparse categorical
cross-entropy), Adam with Keras's defaults (lr 1e-3, eps 1e-7), batch 64, shuffled, 2 threads. The model is written
channels-last the way Keras flattens it (NHWC), so Dense(64)'s weight sees the same order as the compiled graph.

Prints as its last stdout line one JSON object: epoch loop seconds (train_seconds: shuffling, batching, steps, the
running loss and accuracy), load seconds and the whole script's seconds, final loss and accuracy.
"""
import argparse
import gzip
import json
import os
import sys
import time

START = time.perf_counter()
try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the bench prints this and skips the PyTorch column
    print(json.dumps({"skipped": f"PyTorch is not importable by {sys.executable}: {e}"}))
    sys.exit(0)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps"))
from peer_common import keep_freed_memory  # noqa: E402 (after the torch check)

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class SeedCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3)
        self.c2 = nn.Conv2d(32, 64, 3)
        self.c3 = nn.Conv2d(64, 64, 3)
        self.d1 = nn.Linear(576, 64)
        self.d2 = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):  # x: [N, 1, 28, 28]
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.c3(x))
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # Keras flattens HWC
        return self.d2(F.relu(self.d1(x)))  # logits; softmax + cross-entropy in the loss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.perf_counter()
    x = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))[: a.samples]
    y = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))[: a.samples]
    xs = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    ys = torch.from_numpy(y.astype(np.int64))
    load_s = time.perf_counter() - t0
    model = SeedCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    n = xs.shape[0]
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            xb, yb = xs[idx], ys[idx]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
    train_s = time.perf_counter() - t0
    print(json.dumps({"app": "seed_cnn_epoch", "train_seconds": train_s, "load_seconds": load_s,
                      "script_seconds": time.perf_counter() - START, "samples": n, "epochs": a.epochs,
                      "loss": loss_sum / n, "accuracy": correct / n, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
