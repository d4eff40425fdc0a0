#!/usr/bin/env bash
# Builds the PE samples of samples/pe from the sources in src/, reproducibly:
# no link timestamps, stripped symbols, a fixed signing time, and signing keys
# that are generated once and committed (keys/ holds TEST keys only; nothing
# signed with them is trusted anywhere).
#
# Needs (Debian): gcc-mingw-w64-x86-64 (gcc + windres), osslsigncode, openssl.
# Running it again rewrites the same bytes.
set -euo pipefail
cd "$(dirname "$0")"

CC=x86_64-w64-mingw32-gcc
WINDRES=x86_64-w64-mingw32-windres
SIGN_TIME=1700000000 # 2023-11-14T22:13:20Z, fixed so signatures are stable
CFLAGS=(-O2 -s -fno-ident -fno-asynchronous-unwind-tables -ffreestanding
        -Wl,--no-insert-timestamp -Wl,--file-alignment,512)

for tool in "$CC" "$WINDRES" osslsigncode openssl; do
    command -v "$tool" >/dev/null || { echo "make.sh: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- keys (once) ---------------------------------------------------------
mkdir -p keys
make_key() { # name subject
    local key=keys/$1.key crt=keys/$1.crt
    [[ -s $key && -s $crt ]] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
        -keyout "$key" -out "$crt" -subj "$2" \
        -addext "extendedKeyUsage=codeSigning" 2>/dev/null
}
make_key TEST-ONLY-codesign "/CN=smss-triage TEST code signing (untrusted)/O=smss-triage tests"
make_key TEST-ONLY-fake-microsoft "/C=US/ST=Washington/L=Redmond/O=Microsoft Corporation/CN=Microsoft Windows"

# --- images ----------------------------------------------------------------
$WINDRES -O coff src/smss_version.rc -o "$work/smss_version.o"
$WINDRES -O coff src/tool_version.rc -o "$work/tool_version.o"

# Native subsystem, entry NtProcessStartup, ntdll.dll only: the genuine shape.
$CC "${CFLAGS[@]}" -nostdlib -Wl,--subsystem,native -Wl,-e,NtProcessStartup \
    -o "$work/smss_good.exe" src/smss_native.c "$work/smss_version.o" -lntdll

# Console subsystem, kernel32 + msvcrt, but a version resource saying smss.exe.
$CC "${CFLAGS[@]}" -nostdlib -Wl,--subsystem,console -Wl,-e,mainCRTStartup \
    -DMESSAGE='"Windows Session Manager"' \
    -o "$work/smss_fake.exe" src/console_tool.c "$work/smss_version.o" -lmsvcrt -lkernel32

# The generic small console tool (signed, and copied under look-alike names).
$CC "${CFLAGS[@]}" -nostdlib -Wl,--subsystem,console -Wl,-e,mainCRTStartup \
    -o "$work/tool.exe" src/console_tool.c "$work/tool_version.o" -lmsvcrt -lkernel32

sign() { # keyname in out
    rm -f "$3"
    osslsigncode sign -certs "keys/$1.crt" -key "keys/$1.key" -h sha256 \
        -n "smss-triage test sample" -time "$SIGN_TIME" -in "$2" -out "$3" >/dev/null
}

rm -rf good fake renamed signed lookalike
mkdir -p good fake renamed signed lookalike
cp "$work/smss_good.exe" good/smss.exe
cp "$work/smss_fake.exe" fake/smss.exe
cp "$work/smss_good.exe" renamed/updater.exe

sign TEST-ONLY-codesign "$work/tool.exe" signed/tool_signed.exe
sign TEST-ONLY-fake-microsoft "$work/tool.exe" signed/fake_microsoft.exe

# Altered after signing: one letter of the DOS stub message flipped
# ("This program" -> "this program"), so the Authenticode digest no longer
# matches while every header stays valid.
cp signed/tool_signed.exe signed/tool_signed_altered.exe
stub=$(LC_ALL=C grep -obUa 'This program' signed/tool_signed_altered.exe | head -n1 | cut -d: -f1)
printf 't' | dd of=signed/tool_signed_altered.exe bs=1 seek="$stub" conv=notrunc status=none

cp "$work/tool.exe" lookalike/srnss.exe               # "rn" reads as "m"
cp "$work/tool.exe" "lookalike/smss .exe"             # trailing space
cp "$work/tool.exe" "lookalike/$(printf '\xd1\x95')mss.exe"  # U+0455 CYRILLIC SMALL LETTER DZE
cp "$work/tool.exe" lookalike/smss.txt.exe            # double extension
cp "$work/tool.exe" "lookalike/s$(printf '\xe2\x80\xae')exe.ssm" # U+202E RLO: shows as smss.exe

( find good fake renamed signed lookalike -type f -print0 | sort -z | xargs -0 sha256sum ) > SHA256SUMS
echo "samples/pe: $(wc -l < SHA256SUMS) files, $(du -sb good fake renamed signed lookalike | awk '{s+=$1} END {print s}') bytes"
