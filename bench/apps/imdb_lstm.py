"""PyTorch peer of `neural-apps imdb-lstm`: the seed IMDb model, Embedding(10000, 128) -> LSTM(64, dropout 0.2,
recurrent_dropout 0.2) -> Dense(64, relu) -> Dropout(0.5) -> Dense(1, sigmoid), binary cross-entropy, Adam 1e-3,
batch 64, on the fortunes task of ImdbLstm.cs. The data are the very arrays the C# app trains on: run
`neural-apps imdb-lstm --seed S [--samples N] --export-data file.npz` first (bench apps does) and pass --data file.npz.

--lstm fused (default) runs torch.nn.LSTM, PyTorch's fast path, which has no recurrent dropout: the input dropout is
applied (one mask per sequence, as Keras does), the recurrent dropout is not. --lstm loop runs the cell step by step
with both masks, the exact model, at the speed of an eager Python loop."""
import sys

import numpy as np
import torch

import peer_common as common


class SeedLstm(torch.nn.Module):
    def __init__(self, form, dropout=0.2, recurrent_dropout=0.2):
        super().__init__()
        self.form = form
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.embedding = torch.nn.Embedding(10000, 128)
        self.lstm = torch.nn.LSTM(128, 64, batch_first=True)
        self.dense = torch.nn.Linear(64, 64)
        self.drop = torch.nn.Dropout(0.5)
        self.out = torch.nn.Linear(64, 1)

    def mask(self, like, rate):
        # One mask per sequence, kept for all time steps (Keras's RNN dropout), scaled as inverted dropout.
        return torch.bernoulli(torch.full_like(like, 1 - rate)) / (1 - rate)

    def forward(self, tokens):
        x = self.embedding(tokens)
        if self.training and self.dropout > 0:
            x = x * self.mask(x[:, :1, :], self.dropout)
        if self.form == "fused":
            _, (h, _) = self.lstm(x)
            h = h[-1]
        else:
            h = self.loop(x)
        return torch.sigmoid(self.out(self.drop(torch.relu(self.dense(h)))))

    def loop(self, x):
        w_ih, w_hh, b = self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.lstm.bias_ih_l0 + self.lstm.bias_hh_l0
        xw = torch.nn.functional.linear(x, w_ih, b)
        h = x.new_zeros(x.shape[0], 64)
        c = x.new_zeros(x.shape[0], 64)
        rmask = self.mask(h, self.recurrent_dropout) if self.training and self.recurrent_dropout > 0 else None
        for t in range(x.shape[1]):
            z = xw[:, t] + torch.nn.functional.linear(h if rmask is None else h * rmask, w_hh)
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h


def main():
    def extra(p):
        p.add_argument("--data", required=True, help=".npz written by neural-apps imdb-lstm --export-data")
        p.add_argument("--lstm", choices=["fused", "loop"], default="fused")
    args = common.parse_args("PyTorch peer of neural-apps imdb-lstm", extra)
    with np.load(args.data) as d:
        x, y = torch.from_numpy(d["x_train"].astype(np.int64)), torch.from_numpy(d["y_train"].astype(np.float32))
        xt, yt = torch.from_numpy(d["x_test"].astype(np.int64)), torch.from_numpy(d["y_test"].astype(np.float32))
    with common.Clock() as clock:
        model = SeedLstm(args.lstm)
        common.keras_init(model)
        history = common.fit(model, torch.nn.BCELoss(), x, y, args.epochs, args.batch, args.seed,
                             log=lambda line: print(line, file=sys.stderr))
    accuracy = ((common.predict(model, xt) > 0.5).float() == yt).float().mean().item()
    common.report("imdb-lstm", "accuracy", accuracy, clock, args.epochs, loss=history, train=len(x), test=len(xt),
                  lstm=args.lstm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
