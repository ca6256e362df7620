#!/usr/bin/env bash
# ci-install.sh installs the pinned matter.js 0.17.9 OTA provider peer that the interop/matterjs Go tests
# start: it checks node and npm, then runs `npm ci` in this folder (exact versions from package-lock.json,
# no global installs). Idempotent: when node_modules already matches package-lock.json it only checks.
#
# Usage (from anywhere): bash interop/matterjs/ci-install.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() {
	echo "ci-install.sh: $*" >&2
	exit 1
}

command -v node >/dev/null 2>&1 || die "node not found on PATH; install Node.js >=20.19 <22 or >=22.13 (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH (Debian: apt-get install npm)"

node_version=$(node --version)
# The engines range of @matter/nodejs 0.17.9 is ">=20.19.0 <22.0.0 || >=22.13.0"; the Go side
# (available.go, checkNodeVersion) applies the same rule.
node -e '
const [maj, min] = process.versions.node.split(".").map(Number);
process.exit((maj === 20 && min >= 19) || (maj === 22 && min >= 13) || maj > 22 ? 0 : 1);
' || die "node ${node_version} is outside matter.js 0.17.9's engines range (>=20.19.0 <22.0.0 || >=22.13.0)"

npm_version=$(npm --version)
# package-lock.json is lockfileVersion 3, which npm 7 and later read.
[ "${npm_version%%.*}" -ge 7 ] 2>/dev/null || die "npm ${npm_version} is too old for package-lock.json (lockfileVersion 3 needs npm >= 7)"

# True when every pinned package is installed at 0.17.9.
installed_ok() {
	node -e '
const fs = require("node:fs");
for (const p of ["main", "nodejs", "protocol", "node", "types"]) {
    const m = JSON.parse(fs.readFileSync(`node_modules/@matter/${p}/package.json`, "utf8"));
    if (m.version !== "0.17.9") process.exit(1);
}
' 2>/dev/null
}

stamp=node_modules/.otaconf-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && installed_ok; then
	echo "ci-install.sh: node_modules matches package-lock.json (node ${node_version}, npm ${npm_version}); nothing to do"
	exit 0
fi

start=$(date +%s)
npm ci --no-audit --no-fund
installed_ok || die "npm ci finished but @matter/* 0.17.9 is not installed as package-lock.json says"
echo "$want" >"$stamp"
echo "ci-install.sh: installed matter.js 0.17.9 in $(($(date +%s) - start)) s (node ${node_version}, npm ${npm_version})"
