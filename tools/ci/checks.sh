#!/usr/bin/env bash
# The checks the anchor projects run beside their tests (issue #14 §5): formatting, clippy
# with warnings as errors, the MSRV, licences (cargo deny), rustdoc without warnings, and
# every fuzz target building.
# `.ci/run` calls it after the tests; run it locally before a commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
# rustfmt and clippy come with the toolchain here; a toolchain without them cannot fetch
# them (no network beyond the registries), so say so rather than fail on their absence.
if cargo fmt --version >/dev/null 2>&1; then
  echo "== cargo fmt --check"
  cargo fmt --all -- --check
else
  echo "== rustfmt not installed with this toolchain: format check not run"
fi
if cargo clippy --version >/dev/null 2>&1; then
  echo "== cargo clippy -D warnings"
  cargo clippy --workspace --all-targets -q -- -D warnings
else
  echo "== clippy not installed with this toolchain: lint check not run"
fi
echo "== MSRV: every crate declares it, no dependency needs more, no std API past it"
# (the std side is clippy's incompatible_msrv lint, a warning by default, so an error
# in the clippy run above, which reads each crate's rust-version)
python3 tools/ci/msrv.py
if command -v cargo-deny >/dev/null 2>&1; then
  echo "== cargo deny check licenses bans"
  cargo deny --log-level error check licenses bans
elif [ -n "${CI:-}" ]; then
  echo "cargo-deny is missing (.ci/run installs it)" >&2
  exit 1
else
  echo "== cargo-deny not installed: licence check not run (cargo install cargo-deny)"
fi
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
echo "== fuzz targets build (stable: cargo check of each cargo-fuzz crate)"
target="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-check"
for f in parsers/*/fuzz/Cargo.toml; do
  echo "   $f"
  CARGO_TARGET_DIR="$target" cargo check -q --manifest-path "$f" --bins
done
echo "checks passed"
