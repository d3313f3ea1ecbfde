#!/usr/bin/env bash
# Packs the `neural` command line as a .NET tool into artifacts/ and installs it into a tool directory
# (default ~/.neural; add it to PATH). Usage: scripts/install-cli.sh [tool-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-$HOME/.neural}"
dotnet pack src/Cli -c Release -o artifacts
dotnet tool uninstall --tool-path "$dir" NeuralService.Cli >/dev/null 2>&1 || true
# A private package cache: the version number stays 0.1.0 between builds, so a shared cache would hand back an old copy.
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT
NUGET_PACKAGES="$cache" dotnet tool install --tool-path "$dir" --add-source artifacts --ignore-failed-sources NeuralService.Cli
echo "installed: $dir/neural (add $dir to PATH)"
