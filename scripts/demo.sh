#!/usr/bin/env bash
# The main job on the built-in defaults, on a fresh Debian 12 machine (as root):
# install what imgtest needs, build the demo image, bring up the local two-host lab,
# run every suite on the image, and say where the report is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
bash fixtures/build.sh debian-12-clean
node bin/imgtest.js lab up
status=0
node bin/imgtest.js run fixtures/out/debian-12-clean.qcow2 || status=$?
echo
echo "report: $(readlink -f reports/latest)/junit.xml (and results.json, guests/ logs beside it)"
exit $status
