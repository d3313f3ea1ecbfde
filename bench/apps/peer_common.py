"""Shared pieces of the PyTorch peers of the NeuralService applications (see README.md): the command line of the
`bench apps` interface, Keras's default initializers, a Keras-style fit loop (validation split taken from the end of
the training set, reshuffled every epoch) and the one JSON line the harness reads."""
import argparse, ctypes, json, time

import torch


def keep_freed_memory():
    """glibc returns each freed block above its dynamic mmap threshold to the kernel, so a process whose threshold has
    not risen maps, faults in and unmaps every large activation on every step: on the 2-core machine the same script
    ran the seed CNN at ~1,300 or ~4,300 samples/s from one process to the next. Fixing the thresholds at glibc's
    maximum (32 MiB) keeps freed activations for reuse, so PyTorch runs at its fast speed every time."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except OSError:
        pass  # not glibc: nothing to tune


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    if extra:
        extra(p)
    args = p.parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return args


def keras_init(module):
    """Keras defaults: glorot_uniform kernels, zero biases, uniform(-0.05, 0.05) embeddings; LSTMs orthogonal
    recurrent kernels and a forget-gate bias of 1 (unit_forget_bias). Gate order i, f, g/c, o is the same in both."""
    for m in module.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.Embedding):
            torch.nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, torch.nn.LSTM):
            h = m.hidden_size
            for name, w in m.named_parameters():
                if name.startswith("weight_ih"):
                    # Keras's kernel is one [input, 4h] matrix: glorot over that shape, not over each gate.
                    bound = (6.0 / (w.shape[1] + w.shape[0])) ** 0.5
                    torch.nn.init.uniform_(w, -bound, bound)
                elif name.startswith("weight_hh"):
                    # One orthogonal [h, 4h] matrix, as Keras draws it.
                    q = torch.empty(w.shape[1], w.shape[0])
                    torch.nn.init.orthogonal_(q)
                    with torch.no_grad():
                        w.copy_(q.t())
                elif name.startswith("bias_ih"):
                    torch.nn.init.zeros_(w)
                    with torch.no_grad():
                        w[h:2 * h] = 1.0
                elif name.startswith("bias_hh"):
                    torch.nn.init.zeros_(w)


def split(x, y, validation):
    """Keras's validation_split: the last fraction of the samples, before any shuffling."""
    n_val = int(len(x) * validation)
    n_train = len(x) - n_val
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]) if n_val > 0 else None


def fit(model, loss_fn, x, y, epochs, batch, seed, validation=0.1, lr=1e-3, log=print):
    """Adam (Keras's epsilon 1e-7), shuffled minibatches, validation loss each epoch like Keras's fit; returns the
    per-epoch training loss."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    (xt, yt), val = split(x, y, validation)
    g = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=g)
        total, count = 0.0, 0
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        history.append(total / count)
        line = f"epoch {epoch + 1}/{epochs} loss {history[-1]:.4f}"
        if val is not None:
            line += f" val_loss {evaluate_loss(model, loss_fn, val[0], val[1], batch):.4f}"
        log(line)
    return history


@torch.no_grad()
def evaluate_loss(model, loss_fn, x, y, batch):
    model.eval()
    total = 0.0
    for start in range(0, len(x), batch):
        total += loss_fn(model(x[start:start + batch]), y[start:start + batch]).item() * len(x[start:start + batch])
    return total / len(x)


@torch.no_grad()
def predict(model, x, batch=256):
    model.eval()
    return torch.cat([model(x[start:start + batch]) for start in range(0, len(x), batch)])


class Clock:
    def __enter__(self):
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        # All threads' CPU seconds: on a shared machine wall time mostly measures the neighbours.
        self.cpu_seconds = time.process_time() - self.cpu_start


def report(app, metric, value, clock, epochs, **extra):
    """The harness reads the last stdout line."""
    print(json.dumps({"app": app, "metric": metric, "value": float(value), "train_seconds": round(clock.seconds, 2),
                      "train_cpu_seconds": round(clock.cpu_seconds, 2), "epochs": epochs, **extra}), flush=True)
