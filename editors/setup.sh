#!/usr/bin/env bash
# Installs what the editor tests need on a fresh Debian machine, and nothing
# when it is all there already:
#
#   - from apt: neovim, chromium (driven by playwright-core) and libkrb5-dev
#     (code-server builds against it);
#   - from npm: the extension's own packages, playwright-core, the Node.js 24
#     binary that code-server needs, and code-server itself.
#
# Node 24 and code-server (about 600 MB) go to a cache folder outside the
# checkout, so that a fresh clone on the same machine reuses them:
# $MEMBRANE_EDITOR_CACHE, by default ~/.cache/membrane-dev-editors. Each npm
# folder is installed from its lockfile and stamped with the lockfile's hash;
# a matching stamp means it is up to date.
set -euo pipefail
cd "$(dirname "$0")"
editors=$(pwd)
cache=${MEMBRANE_EDITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/membrane-dev-editors}

say() { printf 'editors/setup: %s\n' "$*"; }

# Debian packages, with apt-get update only when something is missing.
apt_packages=(neovim chromium libkrb5-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  say "installing ${missing[*]} from apt"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# npm_folder DIR installs DIR's package-lock.json into DIR/node_modules
# unless the stamp says it already is. Extra arguments go to npm ci.
npm_folder() {
  local dir=$1
  shift
  local stamp="$dir/node_modules/.membrane-stamp"
  local want
  want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  say "npm ci in ${dir/#$HOME/~}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@")
  echo "$want" >"$stamp"
}

# cached_folder NAME copies editors/test/NAME's package files into the cache
# and installs them there.
cached_folder() {
  local name=$1
  shift
  mkdir -p "$cache/$name"
  cp "$editors/test/$name/package.json" "$editors/test/$name/package-lock.json" "$cache/$name/"
  npm_folder "$cache/$name" "$@"
}

npm_folder "$editors/vscode"
npm_folder "$editors/test"
cached_folder node24

# code-server runs on Node 24 and checks, while installing, that npm runs
# on it too; its install scripts build native modules against libkrb5.
PATH="$cache/node24/node_modules/.bin:$PATH" cached_folder code-server

code_server_version=$(cd "$cache/code-server" &&
  node -p 'require("code-server/package.json").version')
say "ready: node $("$cache/node24/node_modules/.bin/node" --version)," \
  "code-server $code_server_version, $(nvim --version | head -n1)," \
  "chromium $(dpkg-query -W -f='${Version}' chromium)"
