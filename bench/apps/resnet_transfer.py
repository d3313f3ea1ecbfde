#!/usr/bin/env python3
"""PyTorch peer of `neural-apps resnet-transfer`: the same two-stage transfer learning on the same data.

The model is a ResNet18-shaped torch network whose convolution and BatchNorm weights are read from the SAME ONNX file
(ML.NET's CNTK-made ResNet18.onnx from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1, via python3-onnx's
numpy_helper). Data: Fashion-MNIST T-shirt/top, Pullover, Coat, Shirt, the first N train images per class (default
100) and the first 50 test images per class, 28x28 grey upsampled bilinearly to 224x224 in three channels (0..255),
ResNetPreprocess's BGR mean image subtracted. Augmentation as Keras's ImageDataGenerator(width/height_shift_range=0.1,
zoom_range=0.1, horizontal_flip=True) on the 28x28 image. Stage 1: layer1-4 frozen, head (global average pool ->
Dense(4) softmax, Glorot-uniform) trained with Adam 1e-3; stage 2: layer4 unfrozen (convolutions, BatchNorm scale and
bias; BatchNorm statistics frozen: eval mode) and fine-tuned with the head by a new Adam at 1e-5, epochs continuing.
The frozen bottom runs on every augmented batch under no_grad; the held-out test images are evaluated after every
epoch (as the C# app's validation). --epochs N is per stage (2N in all).

Last stdout line: {"app":"resnet_transfer","metric":"accuracy","value":...,"train_seconds":...,"epochs":2N} plus the
stage-1 accuracy. --verify FILE.npz checks the torch features against ONNX Runtime's (written by the C# test).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

CLASSES = [0, 2, 4, 6]
# Residual blocks per stage in CNTK's ResNet18 graph: its last stage has three (9 Add nodes, 22 convolutions).
BLOCKS = (2, 2, 2, 3)
SIZE = 224
FASHION = "/usr/share/datasets/fashion-mnist"
PACKAGE = os.path.join("microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels")


def model_dir():
    root = os.environ.get("NUGET_PACKAGES") or os.path.join(os.path.expanduser("~"), ".nuget", "packages")
    d = os.path.join(root, PACKAGE)
    if not os.path.exists(os.path.join(d, "ResNet18Onnx", "ResNet18.onnx")):
        sys.exit(f"ResNet18.onnx not found under {d}: run 'dotnet restore examples/Applications'")
    return d


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic == 2051:
        n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, np.uint8, offset=8)[:n]


def pick(split, per_class):
    """The first per_class images of each class in CLASSES, in file order (as the C# app picks), labels 0..3."""
    x = read_idx(os.path.join(FASHION, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FASHION, f"{split}-labels-idx1-ubyte.gz"))
    taken = [0] * len(CLASSES)
    images, labels = [], []
    for i in range(len(y)):
        if sum(taken) == per_class * len(CLASSES):
            break
        if y[i] not in CLASSES:
            continue
        c = CLASSES.index(int(y[i]))
        if taken[c] == per_class:
            continue
        taken[c] += 1
        images.append(x[i])
        labels.append(c)
    return np.stack(images).astype(np.float32), np.array(labels, np.int64)


# ---- the network ---------------------------------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + skip)

    def pairs(self):
        # The order CNTK's graph lists them in: projection first.
        ds = [(self.downsample[0], self.downsample[1])] if self.downsample is not None else []
        return ds + [(self.conv1, self.bn1), (self.conv2, self.bn2)]


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, cin = [], 64
        for (cout, stride), blocks in zip(((64, 1), (128, 2), (256, 2), (512, 2)), BLOCKS):
            stages.append(nn.Sequential(Block(cin, cout, stride), *[Block(cout, cout, 1) for _ in range(blocks - 1)]))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages

    def bottom(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layer3(self.layer2(self.layer1(x)))

    def pairs(self):
        out = [(self.conv1, self.bn1)]
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                out += block.pairs()
        return out


def load_onnx_weights(net, path):
    """Maps CNTK's initializers onto the torch modules: each Conv node with the BatchNormalization that reads its
    output, in graph order, against the torch (conv, bn) pairs in the same order; kernel, stride and shape checked."""
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    bn_of = {n.input[0]: n for n in m.graph.node if n.op_type == "BatchNormalization"}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    pairs = net.pairs()
    assert len(convs) == len(pairs), (len(convs), len(pairs))
    with torch.no_grad():
        for node, (conv, bn) in zip(convs, pairs):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert len(node.input) == 2, f"{node.name} has a bias"
            w = inits[node.input[1]]
            assert tuple(w.shape) == tuple(conv.weight.shape), (node.name, w.shape, conv.weight.shape)
            assert list(attrs["strides"]) == list(conv.stride), (node.name, attrs["strides"], conv.stride)
            conv.weight.copy_(torch.from_numpy(w.copy()))
            norm = bn_of[node.output[0]]
            scale, bias, mean, var = (inits[i] for i in norm.input[1:5])
            bn.weight.copy_(torch.from_numpy(scale.copy()))
            bn.bias.copy_(torch.from_numpy(bias.copy()))
            bn.running_mean.copy_(torch.from_numpy(mean.copy()))
            bn.running_var.copy_(torch.from_numpy(var.copy()))
            bn.eps = {a.name: onnx.helper.get_attribute_value(a) for a in norm.attribute}.get("epsilon", 1e-5)


def mean_image(directory):
    prep = onnx.load(os.path.join(directory, "ResNetPrepOnnx", "ResNetPreprocess.onnx"))
    t = next(t for t in prep.graph.initializer if t.name == "MeanImage")
    return torch.from_numpy(numpy_helper.to_array(t).copy())


def to_input(images, mean):
    """[n, 28, 28] grey 0..255 -> [n, 3, 224, 224]: bilinear (half-pixel, edges clamped), three channels, BGR minus
    the mean image (ResNetPreprocess)."""
    x = F.interpolate(torch.from_numpy(images).unsqueeze(1), size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    return x[:, [2, 1, 0]] - mean


# ---- augmentation (Keras ImageDataGenerator: shifts, zoom, horizontal flip; fill 'nearest') ------------------------

def augment(images, rng, shift=0.1, zoom=0.1):
    n, h, w = images.shape
    out = np.empty_like(images)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    ox, oy = h / 2.0 + 0.5, w / 2.0 + 0.5
    for i in range(n):
        tx = rng.uniform(-shift, shift) * h
        ty = rng.uniform(-shift, shift) * w
        zx, zy = rng.uniform(1 - zoom, 1 + zoom), rng.uniform(1 - zoom, 1 + zoom)
        flip = rng.uniform() < 0.5
        # Output (r, c) reads input M.(r, c, 1), M = T(o) . Shift(tx, ty) . Zoom(zx, zy) . T(-o).
        ir = np.clip(zx * (rows - ox) + tx + ox, 0, h - 1)
        ic = np.clip(zy * (cols - oy) + ty + oy, 0, w - 1)
        r0, c0 = np.floor(ir).astype(int), np.floor(ic).astype(int)
        r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
        fr, fc = ir - r0, ic - c0
        img = images[i].astype(np.float64)
        v = (1 - fr) * ((1 - fc) * img[r0, c0] + fc * img[r0, c1]) + fr * ((1 - fc) * img[r1, c0] + fc * img[r1, c1])
        out[i] = v[:, ::-1] if flip else v
    return out


# ---- training ------------------------------------------------------------------------------------------------------

def glorot_dense(inputs, units, generator):
    head = nn.Linear(inputs, units)
    limit = (6.0 / (inputs + units)) ** 0.5
    with torch.no_grad():
        head.weight.uniform_(-limit, limit, generator=generator)
        head.bias.zero_()
    return head


def evaluate(net, head, features, labels, batch):
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(labels), batch):
            logits = head(net.layer4(features[s:s + batch]).mean(dim=(2, 3)))
            y = torch.from_numpy(labels[s:s + batch])
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss / len(labels), correct / len(labels)


def run_epochs(net, head, params, lr, first, last, data, args, log):
    images, labels, test_features, test_labels, mean, order_rng, aug_rng = data
    optimizer = torch.optim.Adam(params, lr=lr, eps=1e-7)
    for epoch in range(first, last):
        net.eval()  # BatchNorm on its stored statistics in both stages
        order = order_rng.permutation(len(labels))
        seen, loss_sum, correct = 0, 0.0, 0
        for s in range(0, len(order), args.batch):
            idx = order[s:s + args.batch]
            x = to_input(augment(images[idx], aug_rng), mean)
            y = torch.from_numpy(labels[idx])
            with torch.no_grad():
                features = net.bottom(x)
            logits = head(net.layer4(features).mean(dim=(2, 3)))
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        val_loss, val_acc = evaluate(net, head, test_features, test_labels, args.batch)
        log(f"epoch {epoch + 1}/{last}: loss {loss_sum / seen:.4f} accuracy {correct / seen:.4f} val_loss {val_loss:.4f} val_accuracy {val_acc:.4f}")
    return evaluate(net, head, test_features, test_labels, args.batch)


def load_net(directory):
    net = ResNet18()
    load_onnx_weights(net, os.path.join(directory, "ResNet18Onnx", "ResNet18.onnx"))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def verify(path, directory):
    """The torch network against ONNX Runtime on the images in PATH (written by the C# test): the full network's
    pooled 512 features and layer4's input. Exits 1 beyond 1e-4 relative to the largest feature."""
    ref = np.load(path)
    net = load_net(directory)
    with torch.no_grad():
        x = to_input(ref["images"].astype(np.float32), mean_image(directory))
        bottom = net.bottom(x)
        pooled = net.layer4(bottom).mean(dim=(2, 3))
    report = {}
    for name, ours in (("layer4_input", bottom), ("pooled", pooled)):
        theirs = ref[name].reshape(ours.shape)
        diff = float(np.abs(ours.numpy() - theirs).max())
        report[name] = {"max_abs_diff": diff, "max_abs": float(np.abs(theirs).max()), "relative": diff / float(np.abs(theirs).max())}
    print(json.dumps(report))
    return 0 if all(r["relative"] <= 1e-4 for r in report.values()) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per stage")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=100, help="training images per class")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--fine-tune-lr", type=float, default=1e-5)
    parser.add_argument("--verify", metavar="NPZ")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    directory = model_dir()
    if args.verify:
        return verify(args.verify, directory)
    torch.manual_seed(args.seed)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    images, labels = pick("train", args.samples)
    test_images, test_labels = pick("t10k", args.test_per_class)
    net = load_net(directory)
    mean = mean_image(directory)
    start = time.perf_counter()
    with torch.no_grad():
        test_features = torch.cat([net.bottom(to_input(test_images[s:s + 32], mean)) for s in range(0, len(test_labels), 32)])
    log(f"frozen bottom on {len(test_labels)} test images in {time.perf_counter() - start:.0f}s")
    head = glorot_dense(512, len(CLASSES), torch.Generator().manual_seed(args.seed))
    data = (images, labels, test_features, test_labels, mean, np.random.default_rng(args.seed), np.random.default_rng(args.seed + 1))

    start = time.perf_counter()
    _, stage1 = run_epochs(net, head, list(head.parameters()), args.head_lr, 0, args.epochs, data, log=log, args=args)
    log(f"stage 1: test accuracy {stage1:.4f}")
    for p in net.layer4.parameters():
        p.requires_grad_(True)
    _, stage2 = run_epochs(net, head, list(net.layer4.parameters()) + list(head.parameters()), args.fine_tune_lr,
                           args.epochs, 2 * args.epochs, data, log=log, args=args)
    train_seconds = time.perf_counter() - start
    log(f"stage 2: test accuracy {stage2:.4f}")
    print(json.dumps({"app": "resnet_transfer", "metric": "accuracy", "value": stage2, "train_seconds": round(train_seconds, 2),
                      "epochs": 2 * args.epochs, "stage1_accuracy": stage1}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
