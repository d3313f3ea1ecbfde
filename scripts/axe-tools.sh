# axe-core for the dashboard's accessibility tests (tools/axe: axe-core 4.14.1, MPL-2.0, pinned by package-lock.json).
# The Api tests inject tools/axe/node_modules/axe-core/axe.min.js into headless Chromium on every dashboard page.
#   source scripts/axe-tools.sh && install_axe_tools
source "$(dirname "${BASH_SOURCE[0]}")/npm-tools.sh"
install_axe_tools() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  npm_install_pinned "$root/tools/axe" || return 1
}
