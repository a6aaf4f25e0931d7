# Shared settings and helpers of the scripts in this folder (sourced, not run).
#
# One throwaway cluster per data directory; two can run side by side with
# different directories and ports.
S3_DIR=${SHM_HOST_S3_DIR:-${TMPDIR:-/tmp}/shm-host-s3}
S3_PORT=${SHM_HOST_S3_PORT:-7480}
S3_MON_PORT=${SHM_HOST_S3_MON_PORT:-40300}
S3_ACCESS_KEY=${SHM_HOST_S3_ACCESS_KEY:-shmhostaccess}
S3_SECRET_KEY=${SHM_HOST_S3_SECRET_KEY:-shmhostsecret}
S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export CEPH_CONF="$S3_DIR/ceph.conf"

say() { echo "s3: $*" >&2; }

# True while process $1 runs. A zombie is dead: PID 1 here may never reap the
# daemons (they detach from us), and kill -0 still succeeds on a zombie.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

dead() { ! alive "$1"; }

# Polls the command "$2..." every 0.1 s until it succeeds, for at most $1 seconds.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then say "timed out waiting for: $*"; return 1; fi
    sleep 0.1
  done
}

# SIGKILLs the daemons whose pid files match $1 (a glob under run/) and waits
# until they are gone. The data is disposable, so no clean shutdown.
kill_daemons() {
  local f pid pids=()
  for f in "$S3_DIR"/run/$1; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    [ -n "$pid" ] || continue
    # Only a process that is one of ours: a stale pid file may name a reused pid.
    if alive "$pid" && grep -qE 'ceph-mon|ceph-osd|radosgw' "/proc/$pid/comm" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do wait_until 20 dead "$pid"; done
}

gateway_answers() { curl -s -o /dev/null --max-time 2 "$S3_ENDPOINT/"; }
