#!/usr/bin/env bash
# Headless browser for tests/test_leaderboard_site.py: Debian's chromium + the npm package
# playwright-core (driver only, it downloads no browser). Idempotent and non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends chromium nodejs npm
fi
NODE_ROOT="$(npm root -g)"
if [ ! -d "$NODE_ROOT/playwright-core" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $SUDO npm install -g --no-audit --no-fund playwright-core
fi
chromium --version
node -e "require('$NODE_ROOT/playwright-core'); console.log('playwright-core', require('$NODE_ROOT/playwright-core/package.json').version)"
