"""The seed CNN and its recipe, shared by fashion_cnn.py and mnist_cnn.py (see FashionCnn.cs)."""
import gzip, os, struct, sys

import numpy as np
import torch

import peer_common as common


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(directory, prefix, n):
    images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"))[:n]
    labels = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"))[:n]
    # NCHW: PyTorch's convolution layout; the C# app feeds NHWC, the same pixels.
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255)).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


class SeedCnn(torch.nn.Sequential):
    """Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10 (3x3 valid convolutions, 2x2 pools, relu); the final
    softmax is folded into the cross-entropy, which is the same loss."""

    def __init__(self):
        super().__init__(
            torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(64, 64, 3), torch.nn.ReLU(),
            torch.nn.Flatten(), torch.nn.Linear(576, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def main(app, directory, train_all, test_all):
    args = common.parse_args(f"PyTorch peer of neural-apps {app}")
    x, y = load(directory, "train", args.samples or train_all)
    xt, yt = load(directory, "t10k", test_all)
    with common.Clock() as clock:
        model = SeedCnn()
        common.keras_init(model)
        history = common.fit(model, torch.nn.CrossEntropyLoss(), x, y, args.epochs, args.batch, args.seed,
                             log=lambda line: print(line, file=sys.stderr))
    accuracy = (common.predict(model, xt).argmax(1) == yt).float().mean().item()
    common.report(app, "accuracy", accuracy, clock, args.epochs, loss=history, train=len(x), test=len(xt))
    return 0
