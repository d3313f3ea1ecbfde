"""PyTorch peer of `neural-apps mnist-cnn`: the seed CNN on the real MNIST digits in tools/mnist/data (or
$NEURAL_MNIST_DIR; made by scripts/datasets.sh's install_datasets), 7996 train / 2004 test, the recipe of fashion_cnn.py."""
import os, sys

import cnn

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    directory = os.environ.get("NEURAL_MNIST_DIR") or os.path.join(here, "..", "..", "tools", "mnist", "data")
    sys.exit(cnn.main("mnist-cnn", directory, 7996, 2004))
