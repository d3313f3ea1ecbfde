#!/usr/bin/env python3
"""PyTorch peer of `bench deep-conv`: training steps of the same small deep-layer network on the same-shaped data.

Model: input [channels, size, size] -> three Conv2d(channels, channels, 3, padding 1) + ReLU -> global average pool ->
Linear(4) softmax (cross-entropy on logits), Glorot-uniform kernels and zero biases as Keras, Adam lr 1e-5 with
Keras's eps 1e-7, batch --batch, --threads threads. Random inputs in [0, 1) and labels i % 4, as the C# side.
Prints one JSON line: milliseconds per step of each round of --steps steps (after two warm-up steps).
"""
import argparse
import json
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(json.dumps({"skipped": f"PyTorch is not importable by {sys.executable}: {e}"}))
    sys.exit(0)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps"))
from peer_common import keep_freed_memory  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=512)
    p.add_argument("--size", type=int, default=7)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    layers = []
    for _ in range(3):
        conv = nn.Conv2d(a.channels, a.channels, 3, padding=1)
        nn.init.xavier_uniform_(conv.weight)
        nn.init.zeros_(conv.bias)
        layers += [conv, nn.ReLU()]
    head = nn.Linear(a.channels, 4)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-5, eps=1e-7)
    x = torch.rand(a.batch, a.channels, a.size, a.size)
    y = torch.arange(a.batch) % 4

    def step():
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(2):
        step()
    rounds = []
    for _ in range(a.rounds):
        start = time.perf_counter()
        for _ in range(a.steps):
            step()
        rounds.append(1000 * (time.perf_counter() - start) / a.steps)
    print(json.dumps({"ms_per_step": rounds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
