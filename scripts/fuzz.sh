#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/: filter, patch, scim_body) for a bounded time and prints
# the executions per target. Not part of CI: `cargo test` replays the committed corpus instead
# (tests/fuzz_corpus.rs).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 s, every target
#
# - Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain, cargo-fuzz's
#   nightly-only compiler flags are allowed through RUSTC_BOOTSTRAP=1, and no sanitizer is
#   used (`--sanitizer none`: AddressSanitizer needs nightly's -Zsanitizer for real, and the
#   code under test is safe Rust, so panics are what the targets look for).
# - Each run starts from the committed corpus (fuzz/corpus/TARGET, seeded from tests/idp by
#   scripts/fuzz-seeds.py) and writes what it finds to fuzz/target/work/TARGET, so the
#   committed corpus does not grow. FUZZ_MERGE=1 merges the finds that add coverage into
#   fuzz/corpus/TARGET afterwards (libFuzzer -merge=1: only inputs with new coverage).
# - A crash leaves its input in fuzz/artifacts/TARGET/ and makes the script exit 1; fix the
#   bug and copy the input into fuzz/corpus/TARGET/ so that `cargo test` replays it.
# - FUZZ_JOBS=N runs N workers per target (default 1).
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(filter patch scim_body)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 2
fi
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none)  # default: optimized, with debug assertions and overflow checks

echo "building the fuzz targets..."
mkdir -p target/work
if ! cargo fuzz build "${flags[@]}" >/dev/null 2>target/work/build.log; then
  tail -30 target/work/build.log >&2
  exit 2
fi

status=0
summary=()
for t in "${targets[@]}"; do
  work="target/work/$t"
  mkdir -p "$work" "corpus/$t" "artifacts/$t"
  log="target/work/$t.log"
  echo "fuzzing $t for ${secs}s..."
  jobs=()
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  fi
  rm -f fuzz-*.log
  cargo fuzz run "${flags[@]}" "$t" "$work" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -print_final_stats=1 "${jobs[@]}" >"$log" 2>&1
  rc=$?
  # With several jobs each worker logs to fuzz-N.log: sum their counts.
  execs=$(cat "$log" fuzz-*.log 2>/dev/null | sed -n 's/^stat::number_of_executed_units: *//p' |
    awk '{s+=$1} END {print s+0}')
  cat fuzz-*.log >>"$log" 2>/dev/null
  rm -f fuzz-*.log
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  crashes=$(find "artifacts/$t" -type f | wc -l)
  summary+=("$(printf '%-10s %12s executions in %ss, %s, %s crash input(s) in fuzz/artifacts/%s' \
    "$t" "${execs:-?}" "$secs" "${cov:-cov: ?}" "$crashes" "$t")")
  if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then
    status=1
    grep -m1 -A12 "panicked at" "$log" >&2 || tail -20 "$log" >&2
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "$work" -- -merge=1 >"target/work/$t.merge.log" 2>&1
  fi
done

echo
printf '%s\n' "${summary[@]}"
exit $status
