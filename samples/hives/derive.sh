#!/usr/bin/env bash
# Builds one hive per scenario: OUTDIR/<scenario>.hive = a shared hive + <scenario>.reg merged in
# with hivexregedit (Debian package libwin-hivex-perl). The shared hives are third-party files:
# derived hives are written only to OUTDIR, never into the repository.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
shared=${SMSS_SHARED:-$here/../../../shared}
hives=$shared/samples/hives
out=$1
command -v hivexregedit >/dev/null || { echo "hivexregedit not found (apt-get install libwin-hivex-perl)" >&2; exit 1; }
[ -f "$hives/regipy__SYSTEM" ] || { echo "shared hives not found in $hives (set SMSS_SHARED)" >&2; exit 1; }
mkdir -p "$out"
for reg in "$here"/*.reg; do
    scenario=$(basename "$reg" .reg)
    case $scenario in
        ifeo_* | silentprocessexit_*)
            # No SOFTWARE hive is shared: regipy's ntuser_software_partial (root key "Software",
            # a SOFTWARE-shaped tree) receives the SOFTWARE paths below its root.
            base=regipy__ntuser_software_partial prefix='HKEY_LOCAL_MACHINE\SOFTWARE' ;;
        *)
            base=regipy__SYSTEM prefix='HKEY_LOCAL_MACHINE\SYSTEM' ;;
    esac
    cp "$hives/$base" "$out/$scenario.hive"
    chmod u+w "$out/$scenario.hive"
    hivexregedit --merge --prefix "$prefix" "$out/$scenario.hive" "$reg"
done
echo "derived $(ls "$here"/*.reg | wc -l) hives into $out"
