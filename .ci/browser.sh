#!/usr/bin/env bash
# Headless browser for tests/test_leaderboard_site.py: Debian's chromium + the npm package
# playwright-core (driver only, it downloads no browser). Idempotent and non-interactive.
#
# Installs only what is missing. Machines of our kind ship Node.js 20 + npm from NodeSource, whose
# `nodejs` package conflicts with Debian's `npm` (apt exits 100, "held broken packages"), so
# nodejs/npm come from apt only when node itself is absent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

pkgs=()
command -v chromium >/dev/null || pkgs+=(chromium)
if ! command -v node >/dev/null; then
  pkgs+=(nodejs)
  command -v npm >/dev/null || pkgs+=(npm)
elif ! command -v npm >/dev/null; then
  # node without npm: Debian's npm only fits Debian's nodejs.
  if dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -qi nodesource; then
    echo "browser.sh: node $(node --version) (NodeSource) is installed without npm; Debian's npm conflicts" \
         "with it. Reinstall NodeSource's nodejs (it bundles npm) or remove it so apt can install both." >&2
    exit 1
  fi
  pkgs+=(npm)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "browser.sh: apt-get install ${pkgs[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi
NODE_ROOT="$(npm root -g)"
if [ ! -d "$NODE_ROOT/playwright-core" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $SUDO npm install -g --no-audit --no-fund playwright-core
fi
chromium --version
node -e "require('$NODE_ROOT/playwright-core'); console.log('playwright-core', require('$NODE_ROOT/playwright-core/package.json').version)"
