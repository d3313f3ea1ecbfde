# Debian packages the project needs; sourced by run.sh and test.sh.
#   runtime/build: libonnx-dev (onnx.proto, compiled at build time), fonts-dejavu-core (the text of every chart)
#   tests: python3-onnx (the ONNX checker), python3-torch (GradCheck's float64 reference), libonnx-testdata
#          (conformance data), postgresql (registry tests), dataset-fashion-mnist, python3-vega-datasets, fortunes (real data)
install_deps() {
  local want=(libonnx-dev fonts-dejavu-core)
  if [ "${1:-}" = test ]; then
    want+=(python3-onnx python3-numpy python3-torch libonnx-testdata dataset-fashion-mnist python3-vega-datasets fortunes postgresql chromium)
  fi
  local missing=()
  for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
