#!/usr/bin/env bash
# The checks the anchor projects run beside their tests (issue #14 §5): formatting, clippy
# with warnings as errors, rustdoc without warnings, and every fuzz target building.
# `.ci/run` calls it after the tests; run it locally before a commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -q -- -D warnings
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
echo "== fuzz targets build (stable: cargo check of each cargo-fuzz crate)"
target="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-check"
for f in parsers/*/fuzz/Cargo.toml; do
  echo "   $f"
  CARGO_TARGET_DIR="$target" cargo check -q --manifest-path "$f" --bins
done
echo "checks passed"
