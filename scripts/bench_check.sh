#!/usr/bin/env bash
# Benchmark of `jixiao check` (reading, checking and scoring) against a bare python-calamine read
# of the same files, in the same run. See BENCHMARKS.md.
#
# usage (from anywhere):  bash scripts/bench_check.sh [MIN_FILES] [RUNS]
#   MIN_FILES  size of the corpus in bench-data/forms/ (default 1200)
#   RUNS       timed runs of each command (default 5; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/.."
MIN_FILES=${1:-1200}
RUNS=${2:-5}
OUT=bench-data/forms
BASELINE=../shared/tools/baseline_read.py

echo "== build"
cargo build --release --quiet
JIXIAO=target/release/jixiao

echo "== corpus: $OUT"
# Every accepted and rejected fixture of the three forms (examples, variants, and the
# LibreOffice-written .xls/.ods/.xlsx when present), copied under distinct names until there are
# at least MIN_FILES. Lock/temp files and the bad-file fixtures are left out.
rm -rf "$OUT"
mkdir -p "$OUT"
mapfile -d '' SRC < <(find tests/fixtures/examples tests/fixtures/variants tests/fixtures/libreoffice \
  -maxdepth 1 -type f \( -name '*.xlsx' -o -name '*.xls' -o -name '*.ods' \) \
  ! -name '~$*' ! -name '.~*' -print0 2>/dev/null | sort -z)
[ ${#SRC[@]} -gt 0 ] || { echo "no fixtures found" >&2; exit 1; }
n=0
round=0
while [ $n -lt "$MIN_FILES" ]; do
  for f in "${SRC[@]}"; do
    cp "$f" "$OUT/$(printf '%02d' $round)-$(basename "$(dirname "$f")")-$(basename "$f")"
    n=$((n + 1))
  done
  round=$((round + 1))
done
xlsx=$(find "$OUT" -name '*.xlsx' | wc -l); xls=$(find "$OUT" -name '*.xls' | wc -l); ods=$(find "$OUT" -name '*.ods' | wc -l)
echo "$n files ($xlsx .xlsx, $xls .xls, $ods .ods) from ${#SRC[@]} fixtures, $(du -sh "$OUT" | cut -f1)"

echo "== tools"
python3 -c 'import python_calamine' 2>/dev/null || pip install --quiet python-calamine
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
command -v bc >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bc; }
HAVE_HYPERFINE=0
command -v hyperfine >/dev/null 2>&1 && HAVE_HYPERFINE=1
echo "python: $(python3 --version 2>&1), python-calamine $(python3 -c 'import importlib.metadata as m; print(m.version("python-calamine"))')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

FILES=("$OUT"/*)
NFILES=${#FILES[@]}
RESULTS=$(mktemp)
TIMING=$(mktemp)

# measure NAME CMD...: RUNS timed runs (after one warm-up), median seconds and max peak RSS.
measure() {
  local name=$1; shift
  "$@" >/dev/null 2>&1 || true   # warm-up (page cache); jixiao exits 1 when a form is rejected
  local times=() rss=0 cpus=()
  for _ in $(seq "$RUNS"); do
    local line
    /usr/bin/time -o "$TIMING" -f 'BENCH %e %M %U %S' "$@" >/dev/null 2>/dev/null || true
    line=$(grep '^BENCH' "$TIMING" | tail -1)
    local t m
    t=$(echo "$line" | cut -d' ' -f2); m=$(echo "$line" | cut -d' ' -f3)
    times+=("$t")
    cpus+=("$(echo "$line" | awk '{printf "%.2f", $4 + $5}')")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  echo "$name|$med|$rss|${times[*]}" >> "$RESULTS"
  printf '%-28s median %6.2f s  (runs: %s; CPU user+sys: %s)  peak %6.1f MB\n' "$name" "$med" "${times[*]}" "${cpus[*]}" "$(echo "$rss/1024" | bc -l)"
}

echo "== timing ($RUNS runs each, median; /usr/bin/time for elapsed and peak RSS)"
measure "python-calamine (1 core)" python3 "$BASELINE" calamine "$OUT"
python3 "$BASELINE" calamine "$OUT"   # its own in-process figure, for reference
measure "jixiao check --jobs 1" "$JIXIAO" check --json --jobs 1 "${FILES[@]}"
measure "jixiao check --jobs 2" "$JIXIAO" check --json --jobs 2 "${FILES[@]}"

if [ $HAVE_HYPERFINE = 1 ]; then
  echo "== hyperfine (cross-check of the elapsed times)"
  # a one-line wrapper so that hyperfine runs the same glob without a shell of its own
  printf '#!/bin/sh\nexec %s check --json --jobs "$1" %s/* >/dev/null\n' "$JIXIAO" "$OUT" > bench-data/run_check.sh
  hyperfine -N --warmup 1 --runs "$RUNS" -i \
    "python3 $BASELINE calamine $OUT" \
    "sh bench-data/run_check.sh 1" \
    "sh bench-data/run_check.sh 2" 2>&1 | grep -E 'Benchmark|Time|Range' || true
fi

echo
echo "== summary: $NFILES files"
printf '%-28s %10s %10s %10s %12s\n' "command" "seconds" "files/s" "peak MB" "vs baseline"
base=$(head -1 "$RESULTS" | cut -d'|' -f2)
while IFS='|' read -r name med rss _; do
  printf '%-28s %10.2f %10.0f %10.1f %11.2fx\n' "$name" "$med" "$(echo "$NFILES/$med" | bc -l)" \
    "$(echo "$rss/1024" | bc -l)" "$(echo "$base/$med" | bc -l)"
done < "$RESULTS"
j1=$(sed -n 2p "$RESULTS" | cut -d'|' -f2); j2=$(sed -n 3p "$RESULTS" | cut -d'|' -f2)
r1=$(sed -n 2p "$RESULTS" | cut -d'|' -f3); r2=$(sed -n 3p "$RESULTS" | cut -d'|' -f3)
goal() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo met; else echo "NOT met"; fi; }
echo "goal 1 core >= 1.0x baseline:  $(goal "$base/$j1 >= 1.0")"
echo "goal 2 cores >= 1.5x baseline: $(goal "$base/$j2 >= 1.5")"
echo "goal peak < 100 MB:            $(goal "$r1 < 102400 && $r2 < 102400")"
rm -f "$RESULTS" "$TIMING"
