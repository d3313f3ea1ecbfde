# OpenAPI validator for the tests (tools/openapi: @readme/openapi-parser, pinned by package-lock.json).
# Source this file, then call install_openapi_tools; the Api tests run tools/openapi/validate.mjs with node.
#   source scripts/openapi-tools.sh && install_openapi_tools
source "$(dirname "${BASH_SOURCE[0]}")/npm-tools.sh"
install_openapi_tools() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/tools/openapi"
  npm_install_pinned "$dir" || return 1
}
