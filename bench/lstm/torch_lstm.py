"""PyTorch reference for `bench lstm`: the seed IMDb model (Embedding(10000,128) -> LSTM(64) -> Dense(1, sigmoid)),
Adam, batch of random tokens, one length per process. Prints one JSON line: samples/s and peak RSS (MiB)."""
import json, resource, sys, time

import torch

length, batch, steps, threads, dropout = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10000, 128)
        self.lstm = torch.nn.LSTM(128, 64, batch_first=True)
        self.drop = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(64, 1)

    def forward(self, x):
        # Keras's input dropout (the same mask for every step is not expressible with nn.LSTM; per-element dropout
        # of the embedded sequence costs the same). recurrent_dropout has no nn.LSTM form at all: noted in the output.
        _, (h, _) = self.lstm(self.drop(self.emb(x)))
        return torch.sigmoid(self.out(h[-1]))


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.BCELoss()
g = torch.Generator().manual_seed(1)
x = torch.randint(1, 10000, (batch, length), generator=g)
y = torch.randint(0, 2, (batch, 1), generator=g).float()


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(2):
    step()
t = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - t
print(json.dumps({"samples_per_s": batch * steps / elapsed, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "torch": torch.__version__}))
