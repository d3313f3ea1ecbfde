#!/usr/bin/env bash
# The main job: builds everything, exports the example models in onnx-models/specs/ to onnx-models/*.onnx, then starts
# the service on http://127.0.0.1:8080 (data in $NEURAL_DATA_DIR, default ./data; SQLite unless
# Neural__Storage__Provider=postgres), in the Development environment (readable console logs) unless
# ASPNETCORE_ENVIRONMENT says otherwise. Set NEURAL_NO_SERVE=1 to stop after the exports.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
source scripts/build-progress.sh
install_deps
source scripts/datasets.sh
install_datasets
build_with_progress /tmp/neuralservice-build.log NeuralService.sln -c Release
neural() { dotnet src/Cli/bin/Release/net10.0/neural.dll "$@"; }
for spec in onnx-models/specs/*.json; do
  [ -e "$spec" ] || continue
  name=$(basename "$spec" .json)
  neural export "$spec" -o "onnx-models/$name.onnx"
done
[ "${NEURAL_NO_SERVE:-}" = 1 ] && exit 0
url="${NEURAL_URL:-http://127.0.0.1:8080}"
export NEURAL_DATA_DIR="${NEURAL_DATA_DIR:-$PWD/data}"
# A developer's terminal: readable log lines (Production, the default elsewhere, writes compact JSON for collectors).
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
echo "NeuralService on $url (data: $NEURAL_DATA_DIR)"
echo "Swagger UI: $url/swagger"
exec dotnet src/Api/bin/Release/net10.0/NeuralService.Api.dll --urls "$url"
