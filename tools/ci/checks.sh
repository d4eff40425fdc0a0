#!/usr/bin/env bash
# The checks the anchor projects run beside their tests (issue #14 §5): formatting, clippy
# with warnings as errors, rustdoc without warnings, and every fuzz target building.
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
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
echo "== fuzz targets build (stable: cargo check of each cargo-fuzz crate)"
target="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-check"
for f in parsers/*/fuzz/Cargo.toml; do
  echo "   $f"
  CARGO_TARGET_DIR="$target" cargo check -q --manifest-path "$f" --bins
done
echo "checks passed"
