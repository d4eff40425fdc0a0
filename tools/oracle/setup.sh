#!/usr/bin/env bash
# Creates (or reuses) a Python venv holding the independent readers the project's tests
# compare against. Idempotent: re-running installs only what is missing.
#
# Usage: tools/oracle/setup.sh [VENV_DIR]     (default: <repo>/.venv, or $SMSS_VENV)
#   SMSS_WITH_MEMPROCFS=1  also install MemProcFS (needs Debian's libusb-1.0-0)
# Prints SMSS_PY=<venv python> last; export it for `cargo test`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-${SMSS_VENV:-$(cd "$here/../.." && pwd)/.venv}}"
# The oracle test compares against this version's JSON output.
VOL_VERSION="2.28.2"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip --version >/dev/null 2>&1 || "$py" -m ensurepip --upgrade >/dev/null
need=()
"$py" -c "from volatility3.framework import constants as c; assert c.PACKAGE_VERSION == '$VOL_VERSION'" 2>/dev/null \
    || need+=("volatility3==$VOL_VERSION")
# xpress_lz77: the LZXPRESS decoder of Volatility's (unmerged) hibernation layer, the
# oracle for the hiberfil.sys sets tools/memgen writes.
for mod_pkg in pefile:pefile regipy:regipy Registry:python-registry xpress_lz77:xpress-lz77==1.0.1; do
    mod="${mod_pkg%%:*}"; pkg="${mod_pkg#*:}"
    "$py" -c "import $mod" 2>/dev/null || need+=("$pkg")
done
if [ "${SMSS_WITH_MEMPROCFS:-0}" = "1" ]; then
    "$py" -c "import memprocfs" 2>/dev/null || need+=("memprocfs==5.19.0")
fi
if [ "${#need[@]}" -gt 0 ]; then
    "$py" -m pip install --disable-pip-version-check --quiet "${need[@]}"
fi
"$py" -c "import volatility3, pefile, regipy, Registry, xpress_lz77; from volatility3.framework import constants; print('volatility3', constants.PACKAGE_VERSION)"
echo "SMSS_PY=$venv/bin/python"
