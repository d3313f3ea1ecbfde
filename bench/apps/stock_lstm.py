#!/usr/bin/env python3
"""PyTorch peer of `neural-apps stock-lstm` (docs/APPLICATIONS.md section (c)).

Same data, split, scaling, windows, model, optimizer, batch and epochs as examples/Applications/StockLstm.cs:
the S&P 500's daily closes 2000-01-03..2020-04-17 (tools/sp500/node_modules/vega-datasets/data/sp500-2000.csv,
installed by scripts/datasets.sh; NEURAL_SP500_CSV overrides), --samples keeps the most recent days, the first 80%
of the days train, MinMax scaling fitted on the training days only, 60-day windows -> the next day (test windows
may reach back into the training days), LSTM(50, sequences) -> Dropout(0.2) -> LSTM(50) -> Linear(1) initialised
as Keras does, mse, Adam 1e-3 (Keras's epsilon 1e-7), batch 32, shuffled each epoch. The RMSE is in index points
after the inverse transform. The last stdout line is the JSON result.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from peer_common import keep_freed_memory

WINDOW = 60


def data_path():
    env = os.environ.get("NEURAL_SP500_CSV")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, "tools", "sp500", "node_modules", "vega-datasets", "data", "sp500-2000.csv")


def load_closes(path):
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run `source scripts/datasets.sh && install_datasets` "
                 "(installs the pinned npm package vega-datasets 3.2.1 into tools/sp500), or set NEURAL_SP500_CSV")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["close"]) for r in rows], dtype=np.float32)


class StockLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(1, 50, batch_first=True)
        self.dropout = nn.Dropout(0.2)
        self.lstm2 = nn.LSTM(50, 50, batch_first=True)
        self.dense = nn.Linear(50, 1)
        for lstm in (self.lstm1, self.lstm2):
            # Keras's LSTM: one glorot_uniform [input, 4h] kernel, one orthogonal [h, 4h] recurrent kernel, zero bias
            # with the forget gate's at 1 (gate order i, f, g, o in both; PyTorch's second bias stays zero).
            w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
            bound = (6.0 / (w_ih.shape[0] + w_ih.shape[1])) ** 0.5
            q = torch.empty(w_hh.shape[1], w_hh.shape[0])
            nn.init.orthogonal_(q)
            with torch.no_grad():
                w_ih.uniform_(-bound, bound)
                w_hh.copy_(q.t())
                lstm.bias_ih_l0.zero_()
                lstm.bias_hh_l0.zero_()
                lstm.bias_ih_l0[50:100] = 1.0
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def forward(self, x):
        y, _ = self.lstm1(x)
        y, _ = self.lstm2(self.dropout(y))
        return self.dense(y[:, -1, :])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples", type=int, default=None, help="the most recent N days (default: all 5,105)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    keep_freed_memory()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    prices = load_closes(data_path())
    days = a.samples or len(prices)
    if not 2 * WINDOW < days <= len(prices):
        sys.exit(f"--samples {days}: needs {2 * WINDOW + 1}..{len(prices)} days")
    prices = prices[-days:]
    split = int(days * 0.8)
    lo, hi = float(prices[:split].min()), float(prices[:split].max())
    scaled = ((prices - lo) / (hi - lo)).astype(np.float32)
    targets = np.arange(WINDOW, days)
    train_t, test_t = targets[targets < split], targets[targets >= split]

    def windows(ts):
        x = np.stack([scaled[t - WINDOW:t] for t in ts])[:, :, None]
        return torch.from_numpy(x), torch.from_numpy(scaled[ts][:, None])

    xtr, ytr = windows(train_t)
    xte, _ = windows(test_t)

    model = StockLstm()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.MSELoss()
    start, start_cpu = time.perf_counter(), time.process_time()
    for epoch in range(a.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(xtr)))
        total = 0.0
        for i in range(0, len(order), a.batch):
            idx = order[i:i + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{a.epochs} loss {total / len(xtr):.5f}", file=sys.stderr)
    train_seconds, train_cpu = time.perf_counter() - start, time.process_time() - start_cpu

    model.eval()
    with torch.no_grad():
        pred = model(xte).numpy()[:, 0] * (hi - lo) + lo
    actual = prices[test_t].astype(np.float64)
    naive = prices[test_t - 1].astype(np.float64)
    rmse = math.sqrt(float(np.mean((pred - actual) ** 2)))
    naive_rmse = math.sqrt(float(np.mean((naive - actual) ** 2)))
    print(f"test windows {len(test_t)}: rmse {rmse:.2f}, naive last-value rmse {naive_rmse:.2f}", file=sys.stderr)
    print(json.dumps({"app": "stock-lstm", "metric": "rmse", "value": rmse, "train_seconds": round(train_seconds, 2),
                      "train_cpu_seconds": round(train_cpu, 2), "epochs": a.epochs, "naive_rmse": naive_rmse,
                      "train": len(train_t), "test": len(test_t)}))


if __name__ == "__main__":
    main()
