#!/usr/bin/env bash
# Installs the Debian packages imgtest and its lab need (list: .ci/packages.txt). Skips apt when all are present.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
mapfile -t packages < <(grep -v '^\s*#' "$here/.ci/packages.txt" | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${#missing[@]} Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
