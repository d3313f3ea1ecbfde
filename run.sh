#!/usr/bin/env bash
# The main job: builds everything and exports the example models in onnx-models/specs/ to onnx-models/*.onnx.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
install_deps
dotnet build NeuralService.sln -c Release 2>&1 | tail -3
neural() { dotnet src/Cli/bin/Release/net10.0/neural.dll "$@"; }
for spec in onnx-models/specs/*.json; do
  [ -e "$spec" ] || continue
  name=$(basename "$spec" .json)
  neural export "$spec" -o "onnx-models/$name.onnx"
done
