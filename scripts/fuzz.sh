#!/usr/bin/env bash
# Fuzzes mockdet's parsers with cargo-fuzz (libFuzzer + AddressSanitizer,
# nightly): every target in fuzz/fuzz_targets/ — profile TOML and YAML, the
# admin API's merge patch, a detection request on every protocol through a
# detector's router, the X-Mock-* override headers — runs for FUZZ_SECONDS
# (default 30) from its seeds in fuzz/corpus/<target>/, and any crash, panic,
# timeout or leak fails the script. The committed seeds are only read: new
# corpus entries go to a temporary directory, and a crashing input is kept
# in fuzz/artifacts/<target>/ (ignored by git) with the command to replay it.
# Installs cargo-fuzz from crates.io when missing; the nightly toolchain must
# be there already.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
cargo_fuzz_version=0.13.2

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz ${cargo_fuzz_version}"
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --quiet
  echo "fuzz: cargo-fuzz installed in ${SECONDS}s"
fi

# Debug assertions on, so an integer overflow panics rather than wraps.
build=(--debug-assertions)
started=$SECONDS
cargo +nightly fuzz build "${build[@]}"
echo "fuzz: targets built in $((SECONDS - started))s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One input taking 20 s is a hang worth failing for, not a slow machine.
libfuzzer=(-max_total_time="$seconds" -timeout=20 -print_final_stats=1)

failed=()
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$work/corpus/$target"
  log="$work/$target.log"
  case $target in
    # A detector keeps its journal and findings memo on purpose; libFuzzer's
    # per-input leak check takes that for a leak and scans the whole heap
    # after nearly every input (12x fewer executions). The other targets keep
    # nothing between inputs, so the check stays on for them.
    protocol_request) extra=(-detect_leaks=0) ;;
    *) extra=() ;;
  esac
  # libFuzzer adds what it finds to the first corpus directory only.
  if cargo +nightly fuzz run "${build[@]}" "$target" \
    "$work/corpus/$target" "fuzz/corpus/$target" -- "${libfuzzer[@]}" "${extra[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    found=$(find "$work/corpus/$target" -type f | wc -l)
    printf 'fuzz: %-18s %10s executions in %ss (%s/s), %s new corpus entries\n' \
      "$target" "${runs:-?}" "$seconds" "${per_second:-?}" "$found"
  else
    echo "fuzz: $target FAILED; the end of its log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$target")
  fi
done

echo "fuzz: ${SECONDS}s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
