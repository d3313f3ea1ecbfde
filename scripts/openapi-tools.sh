# OpenAPI validator for the tests (tools/openapi: @readme/openapi-parser, pinned by package-lock.json).
# Source this file, then call install_openapi_tools; the Api tests run tools/openapi/validate.mjs with node.
#   source scripts/openapi-tools.sh && install_openapi_tools
install_openapi_tools() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/tools/openapi"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing: nodejs npm"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
  fi
  # npm ci only when the lock file changed since the last install, so repeated test runs stay offline.
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
}
