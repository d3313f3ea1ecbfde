#!/usr/bin/env bash
# Installs what the tests need (Debian packages) and runs every test.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
install_deps test
source scripts/k8s-tools.sh
install_k8s_tools
source scripts/openapi-tools.sh
install_openapi_tools
source scripts/axe-tools.sh
install_axe_tools
source scripts/datasets.sh
install_datasets
dotnet build NeuralService.sln -c Release > /tmp/neuralservice-build.log 2>&1 || { tail -30 /tmp/neuralservice-build.log; exit 1; }
tail -3 /tmp/neuralservice-build.log
status=0
dotnet test NeuralService.sln -c Release --no-build --logger "console;verbosity=minimal" "$@" 2>&1 | tee /tmp/neuralservice-test.log || status=$?
# One closing line for CI: totals over every test assembly; a crashed test host fails the run even with no failed test.
awk '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s; exit (f > 0) }' /tmp/neuralservice-test.log
exit "$status"
