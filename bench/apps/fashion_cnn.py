"""PyTorch peer of `neural-apps fashion-cnn`: the seed CNN (onnx-models/specs/mnist_cnn.json) on Fashion-MNIST read
from the same IDX files (/usr/share/datasets/fashion-mnist), the first --samples training images (all 60000 by
default), pixels / 255, the last 10% as validation, Adam 1e-3, batch 64, accuracy on the 10000 test images."""
import sys

import cnn

if __name__ == "__main__":
    sys.exit(cnn.main("fashion-cnn", "/usr/share/datasets/fashion-mnist", 60000, 10000))
