# Tools the deploy tests (tests/Deploy.Tests) need; sourced by test.sh, then `install_k8s_tools`.
#   kubectl  renders the kustomize overlays (`kubectl kustomize`, offline, no cluster needed). The dotnet machine
#            image ships it (package kubectl); otherwise Debian's kubernetes-client is taken.
#   node/npm run tools/k8s-validate (schema validation of the rendered objects), installed from its package-lock.json.
install_k8s_tools() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  local missing=()
  command -v kubectl >/dev/null 2>&1 || {
    # kubectl comes from the cloud SDK repository where configured, else from Debian (older, same `kustomize` verb).
    if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then missing+=(kubectl); else missing+=(kubernetes-client); fi
  }
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  kubectl kustomize --help >/dev/null 2>&1 || { echo "kubectl has no 'kustomize' verb" >&2; return 1; }
  # The overlays use `labels` and `replacements` (kustomize v4+); older kubectl builds embed kustomize v2/v3.
  local kv
  kv=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
  [ "${kv:-0}" -ge 4 ] || echo "warning: kubectl's kustomize is older than v4 (${kv:-unknown}); deploy/overlays need v4+" >&2
  local dir="$root/tools/k8s-validate"
  # Reinstall only when the lock file changed since the last install (npm records it in node_modules).
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm ci failed in $dir" >&2; return 1; }
    cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"
  fi
}
