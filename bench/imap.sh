#!/usr/bin/env bash
# Measures `mailproof receipt` and `mailproof export` of an IMAP account side by side with a
# plain Python fetch-and-hash (py_imap_hash.py) and mbsync, against a private local Dovecot
# holding the generated mailbox (mailgen). For each run: wall seconds, CPU seconds of the
# client, CPU seconds Dovecot spent serving it, and the client's peak RSS.
#
#   bench/imap.sh
#
# Environment:
#   DATA=/tmp/mailproof-bench-imap   corpus, server and outputs (never inside the repository)
#   N=20000 SEED=1                   corpus size and seed (mailgen)
#   RUNS=3                           timed runs per benchmark after one warm-up (median reported)
#   PORT=10145                       Dovecot's loopback port (plain text, loopback only)
#   CONNECTIONS=                     --connections N for imap-receipt and imap-export (default: none,
#                                    as users run it: one connection, more while they pay)
#   PY_IMAP_HASH=…/py_imap_hash.py   the Python peer (skipped when missing)
#   RESULTS=bench/results.jsonl      where the JSON lines go
#   ONLY="name …"                    run only these benchmarks
# Installs Debian's dovecot-imapd and isync (mbsync) when missing (root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-/tmp/mailproof-bench-imap}
N=${N:-20000}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
PORT=${PORT:-10145}
CONNECTIONS=${CONNECTIONS:-}
conn=()
[ -z "$CONNECTIONS" ] || conn=(--connections "$CONNECTIONS")
PY_IMAP_HASH=${PY_IMAP_HASH:-/work/shared/bench/py_imap_hash.py}
RESULTS=${RESULTS:-bench/results.jsonl}
ONLY=${ONLY:-}
C=$DATA/corpus
D=$DATA/dovecot
O=$DATA/out
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release
USER_NAME=bench
PASSWORD=bench-password
mkdir -p "$C" "$D" "$O" "$(dirname "$RESULTS")"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v mbsync >/dev/null || need+=(isync)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== building release binaries" >&2
cargo build --release -p mailproof-bench --bin mailgen
cargo build --release -p mailproof-cli
MP=$BIN/mailproof

if [ ! -f "$C/summary.json" ] || ! grep -q "\"messages\": $N," "$C/summary.json" || ! grep -q "\"seed\": $SEED," "$C/summary.json"; then
  echo "== generating $N messages (seed $SEED)" >&2
  "$BIN/mailgen" --messages "$N" --seed "$SEED" --out "$C" --force
fi
MSGS=$(sed -n 's/^  "messages": \([0-9]*\),$/\1/p' "$C/summary.json")

# A private Dovecot: own base_dir and config; mail processes as the invoking user, or as
# dovecot's own users when run as root (Dovecot never runs mail processes as root).
if [ "$(id -u)" -eq 0 ]; then
  MAIL_UID=$(id -u dovecot); MAIL_GID=$(id -g dovecot)
  LOGIN_USER=dovenull; INTERNAL_USER=dovecot
else
  MAIL_UID=$(id -u); MAIL_GID=$(id -g); LOGIN_USER=$(id -un); INTERNAL_USER=$(id -un)
fi
stop_dovecot() {
  if [ -s "$D/run/master.pid" ]; then kill "$(cat "$D/run/master.pid")" 2>/dev/null || true; sleep 1; fi
}
trap stop_dovecot EXIT
stop_dovecot
rm -rf "$D" && mkdir -p "$D/run" "$D/state" "$D/home/$USER_NAME"
echo "== loading the mailbox into Dovecot" >&2
cp -a "$C/maildir" "$D/home/$USER_NAME/Maildir"
chown -R "$MAIL_UID:$MAIL_GID" "$D/home"
echo "$USER_NAME:{PLAIN}$PASSWORD:$MAIL_UID:$MAIL_GID::$D/home/$USER_NAME::" >"$D/users"
cat >"$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
instance_name = mailproof-bench-imap
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $INTERNAL_USER
default_login_user = $LOGIN_USER
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_max_userip_connections = 50
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
}
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
CONF
/usr/sbin/dovecot -c "$D/dovecot.conf"
sleep 1

cat >"$O/mbsyncrc" <<RC
FSync no
IMAPAccount bench
Host 127.0.0.1
Port $PORT
User $USER_NAME
Pass $PASSWORD
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path $O/mbsync/
Inbox $O/mbsync/INBOX
SubFolders Verbatim

Channel export
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
SyncState *
RC

GIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null | head -1)" ]; then GIT="$GIT-dirty"; fi
export GIT

# measure NAME SETUP CMD...: one warm-up, RUNS timed runs; prints and records the medians.
measure() {
  local name=$1 setup=$2
  shift 2
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  echo "== $name: $*" >&2
  python3 - "$name" "$setup" "$RUNS" "$D/run/master.pid" "$RESULTS" "$MSGS" "$O/$name.log" "$@" <<'PY'
import json, os, statistics, subprocess, sys, time
name, setup, runs, pidfile, results, msgs, log = sys.argv[1:8]
cmd = sys.argv[8:]
tick = os.sysconf("SC_CLK_TCK")
def server_cpu():
    # CPU of the Dovecot processes the master has reaped (one imap process per connection).
    pid = open(pidfile).read().strip()
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / tick
rows = []
for run in range(int(runs) + 1):
    if setup:
        subprocess.run(setup, shell=True, check=True)
    s0 = server_cpu()
    t0 = time.monotonic()
    with open(log, "a") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=out, env=dict(os.environ, MAILPROOF_PASSWORD="bench-password"))
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    time.sleep(0.5)
    row = {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "server_cpu": server_cpu() - s0,
           "rss_mb": ru.ru_maxrss / 1024, "rc": os.waitstatus_to_exitcode(status)}
    print("   %-8s %6.2fs  cpu %5.2fs  dovecot %5.2fs  %5.0f MB  exit %d" % (
        "warm-up" if run == 0 else "run %d" % run, row["wall"], row["cpu"], row["server_cpu"], row["rss_mb"], row["rc"]),
        file=sys.stderr)
    if run:
        rows.append(row)
med = lambda k: statistics.median(r[k] for r in rows)
rec = {"name": name, "cmd": " ".join(cmd), "runs": len(rows), "wall_median": round(med("wall"), 2),
       "wall_min": round(min(r["wall"] for r in rows), 2), "cpu_median": round(med("cpu"), 2),
       "server_cpu_median": round(med("server_cpu"), 2), "peak_rss_mb": round(max(r["rss_mb"] for r in rows), 1),
       "messages": int(msgs), "exit_codes": sorted({r["rc"] for r in rows}),
       "corpus": {"generator": "mailgen", "messages": int(msgs)}, "source": "imap (local Dovecot, plain text)",
       "git": os.environ.get("GIT", "unknown"), "nproc": os.cpu_count(), "loadavg_after": open("/proc/loadavg").read().split()[:3],
       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
open(results, "a").write(json.dumps(rec) + "\n")
print("%-28s wall %6.2fs (min %.2f)  cpu %6.2fs  dovecot %5.2fs  peak %6.1f MB" % (
    name, rec["wall_median"], rec["wall_min"], rec["cpu_median"], rec["server_cpu_median"], rec["peak_rss_mb"]))
PY
}

SPEC="imap://$USER_NAME@127.0.0.1:$PORT?tls=none"
# Dovecot builds its index and cache on first access; one untimed pass does that for everyone.
MAILPROOF_PASSWORD=$PASSWORD "$MP" folders "$SPEC" >/dev/null
MAILPROOF_PASSWORD=$PASSWORD "$MP" receipt "$SPEC" -o "$O/first.receipt" --force >/dev/null

if [ -f "$PY_IMAP_HASH" ]; then
  measure py_imap_hash "" python3 "$PY_IMAP_HASH" --port "$PORT" --user "$USER_NAME" --password "$PASSWORD"
else
  echo "py_imap_hash.py not found at $PY_IMAP_HASH: skipped" >&2
fi
measure imap-receipt "rm -f '$O/imap.receipt'" "$MP" receipt "$SPEC" -o "$O/imap.receipt" "${conn[@]}"
measure imap-receipt-1conn "rm -f '$O/imap.receipt'" "$MP" receipt "$SPEC" -o "$O/imap.receipt" --connections 1
measure imap-receipt-4conn "rm -f '$O/imap.receipt'" "$MP" receipt "$SPEC" -o "$O/imap.receipt" --connections 4
measure imap-export "rm -f '$O/imap.zip'" "$MP" export "$SPEC" -o "$O/imap.zip" "${conn[@]}"
measure mbsync "rm -rf '$O/mbsync' && mkdir -p '$O/mbsync'" mbsync -c "$O/mbsyncrc" -a
echo "Appended to $RESULTS; command output in $O/*.log." >&2
