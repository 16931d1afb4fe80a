#!/usr/bin/env bash
# Measures `mailproof receipt` and `mailproof export` against the physical floor (read + SHA-256
# every file: bench `baseline`) and against Info-ZIP's zip, on one generated mailbox, side by side.
#
#   bench/run.sh
#
# Generates the corpus once (mailgen) into $DATA/corpus, builds the release binaries, then runs
# every benchmark once to warm the page cache and RUNS more times timed. Prints a table and
# appends one JSON object per benchmark to $RESULTS. Timing: /usr/bin/time -f "%e %M" (wall
# seconds of the whole process, peak RSS of the largest process), or a small Python timer when
# GNU time cannot be installed.
#
# Environment:
#   DATA=/tmp/mailproof-bench   corpus and outputs (about 3.5 GB; never inside the repository)
#   N=20000 SEED=1              corpus size and seed
#   RUNS=3                      timed runs per benchmark (the median is reported)
#   RESULTS=bench/results.jsonl where the JSON lines go
#   ONLY="name name ..."        run only these benchmarks (names as in the table)
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-/tmp/mailproof-bench}
N=${N:-20000}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
RESULTS=${RESULTS:-bench/results.jsonl}
ONLY=${ONLY:-}
C=$DATA/corpus
O=$DATA/out
LOGS=$DATA/logs
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release
mkdir -p "$C" "$O" "$LOGS" "$(dirname "$RESULTS")"

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; }
}

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (Debian package time)" >&2
  apt_install time || echo "GNU time is not available: using the Python timer" >&2
fi
if ! command -v zip >/dev/null; then
  echo "installing Info-ZIP zip (Debian package zip)" >&2
  apt_install zip || echo "zip is not available: its benchmarks are skipped" >&2
fi

echo "== building release binaries" >&2
cargo build --release -p mailproof-bench
HAVE_MAILPROOF=1
if ! cargo build --release -p mailproof-cli; then
  echo "mailproof does not build: its benchmarks are skipped" >&2
  HAVE_MAILPROOF=0
fi
MP=$BIN/mailproof

top_number() { sed -n "s/^  \"$1\": \([0-9]*\),\{0,1\}$/\1/p" "$C/summary.json"; }
if [ ! -f "$C/summary.json" ] || [ "$(top_number messages)" != "$N" ] || [ "$(top_number seed)" != "$SEED" ]; then
  echo "== generating $N messages (seed $SEED) into $C" >&2
  "$BIN/mailgen" --messages "$N" --seed "$SEED" --out "$C" --force
fi
MSGS=$(top_number messages)
BYTES=$(top_number total_bytes)
MBOX_BYTES=$(top_number mbox_bytes)

# timed TIMEFILE LOGFILE CMD...: runs CMD, writes "wall_seconds peak_rss_kb" as the last line
# of TIMEFILE, returns CMD's exit code.
timed() {
  local tf=$1 log=$2
  shift 2
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$tf" "$@" >>"$log" 2>&1
  else
    python3 -c '
import os, subprocess, sys, time
t = time.monotonic()
p = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write("%.2f %d\n" % (time.monotonic() - t, ru.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
' "$tf" "$@" >>"$log" 2>&1
  fi
}

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
GIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null | head -1)" ]; then GIT="$GIT-dirty"; fi
NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
SHA_NI=$(grep -q -w sha_ni /proc/cpuinfo && echo yes || echo no)
ROWS=()

# measure NAME BYTES SETUP OUTPUT CMD...: one warm-up run, RUNS timed runs; SETUP is a shell
# command run (untimed) before each run; OUTPUT is the file whose size is reported, if any.
measure() {
  local name=$1 bytes=$2 setup=$3 output=$4
  shift 4
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  local log=$LOGS/$name.log tf=$O/.time walls=() codes=() rss=0 run rc wall kb
  : >"$log"
  echo "== $name: $*" >&2
  for run in $(seq 0 "$RUNS"); do
    if [ -n "$setup" ]; then eval "$setup"; fi
    rc=0
    timed "$tf" "$log" "$@" || rc=$?
    read -r wall kb < <(tail -n 1 "$tf")
    printf '   %-8s %6ss  %6d MB  exit %d\n' "$([ "$run" -eq 0 ] && echo warm-up || echo "run $run")" \
      "$wall" $((kb / 1024)) "$rc" >&2
    [ "$run" -eq 0 ] && continue
    walls+=("$wall")
    codes+=("$rc")
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  local sorted med min max out_bytes mb_s msg_s codes_json
  sorted=$(printf '%s\n' "${walls[@]}" | sort -g)
  med=$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  min=$(echo "$sorted" | head -1)
  max=$(echo "$sorted" | tail -1)
  out_bytes=null
  if [ -n "$output" ] && [ -f "$output" ]; then out_bytes=$(stat -c %s "$output"); fi
  mb_s=$(awk -v b="$bytes" -v t="$med" 'BEGIN {printf "%.1f", (t > 0) ? b / 1e6 / t : 0}')
  msg_s=$(awk -v m="$MSGS" -v t="$med" 'BEGIN {printf "%.0f", (t > 0) ? m / t : 0}')
  codes_json=$(IFS=,; echo "${codes[*]}")
  ROWS+=("$(printf '%-24s %8s %15s %9s %9s %9d %15s %s' "$name" "$med" "$min-$max" "$mb_s" "$msg_s" \
    $((rss / 1024)) "$([ "$out_bytes" = null ] && echo - || echo "$out_bytes")" "$codes_json")")
  printf '{"name":"%s","cmd":"%s","runs":%d,"wall_median":%s,"wall_min":%s,"wall_max":%s,"peak_rss_mb":%.1f,"messages":%s,"bytes":%s,"mb_per_s":%s,"msgs_per_s":%s,"output_bytes":%s,"exit_codes":[%s],"corpus":{"generator":"mailgen","messages":%s,"seed":%s},"git":"%s","nproc":%s,"cpu":"%s","sha_ni":"%s","loadavg_after":"%s","time":"%s"}\n' \
    "$name" "$(json_str "$*")" "$RUNS" "$med" "$min" "$max" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
    "$MSGS" "$bytes" "$mb_s" "$msg_s" "$out_bytes" "$codes_json" "$MSGS" "$SEED" "$GIT" "$NPROC" \
    "$(json_str "$CPU")" "$SHA_NI" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$RESULTS"
}

echo "== corpus: $MSGS messages, $BYTES bytes (Maildir), $MBOX_BYTES bytes (mbox); $NPROC cores, $CPU, SHA-NI $SHA_NI" >&2

measure baseline-maildir "$BYTES" "" "" "$BIN/baseline" "$C/maildir"
measure baseline-mbox "$MBOX_BYTES" "" "" "$BIN/baseline" "$C/mbox"
measure baseline-append "$BYTES" "rm -f '$O/append.bin'" "$O/append.bin" \
  "$BIN/baseline" --copy-to "$O/append.bin" "$C/maildir"
if [ "$HAVE_MAILPROOF" -eq 1 ]; then
  measure receipt-maildir "$BYTES" "rm -f '$O/maildir.receipt'" "$O/maildir.receipt" \
    "$MP" receipt "$C/maildir" -o "$O/maildir.receipt"
  measure receipt-mbox "$MBOX_BYTES" "rm -f '$O/mbox.receipt'" "$O/mbox.receipt" \
    "$MP" receipt "$C/mbox" -o "$O/mbox.receipt"
  measure export-stored "$BYTES" "rm -rf '$O/export' && mkdir -p '$O/export'" "$O/export/stored.zip" \
    "$MP" export "$C/maildir" -o "$O/export/stored.zip"
  measure export-deflate "$BYTES" "rm -rf '$O/export' && mkdir -p '$O/export'" "$O/export/deflate.zip" \
    "$MP" export "$C/maildir" -o "$O/export/deflate.zip" --compression deflate
fi
if command -v zip >/dev/null; then
  measure zip-store "$BYTES" "rm -f '$O/zip0.zip'" "$O/zip0.zip" zip -r -q -0 "$O/zip0.zip" "$C/maildir"
  measure zip-deflate-1 "$BYTES" "rm -f '$O/zip1.zip'" "$O/zip1.zip" zip -r -q -1 "$O/zip1.zip" "$C/maildir"
fi

echo
echo "Corpus: mailgen --messages $N --seed $SEED: $MSGS messages, $BYTES bytes as Maildir, $MBOX_BYTES as mboxrd."
echo "Machine: $NPROC cores, $CPU, SHA-NI $SHA_NI; load after: $(cut -d' ' -f1-3 /proc/loadavg); commit $GIT."
echo "Warm cache, median of $RUNS runs after one warm-up; MB = 10^6 bytes; RSS = peak of the largest process."
echo
printf '%-24s %8s %15s %9s %9s %9s %15s %s\n' benchmark "median s" "min-max s" "MB/s" "msg/s" "RSS MB" "output bytes" "exit codes"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
echo "Appended to $RESULTS; command output in $LOGS/."
