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

# chrony: the lab runs its own chronyd (own config, `chronyd -x`, in the lab namespace; src/lab). The
# package conflicts with systemd-timesyncd (both provide time-daemon), so installing it removes that one.
# Its postinst asks invoke-rc.d to start chrony.service; on this project's machines (no systemd as PID 1,
# a policy-rc.d that exits 101) that start is refused and no chronyd of the package runs. Where a machine
# without systemd has no such policy, the init script would start a chronyd nobody manages, trying to set
# this machine's clock from Debian's pool: if this script installed the package and one runs, stop it.
# (Under systemd, chrony.service is that host's time service in timesyncd's place: left alone. Either way
# the lab's chronyd is a separate process with its own pid file; it serves whatever this clock says.)
if [[ " ${missing[*]-} " == *" chrony "* ]] && [ ! -d /run/systemd/system ] && [ -x /etc/init.d/chrony ]; then
  if /etc/init.d/chrony status >/dev/null 2>&1; then
    echo "stopping the chrony package's own chronyd (nothing manages it here; the lab starts its own)"
    /etc/init.d/chrony stop >/dev/null
  fi
fi
