#!/usr/bin/env bash
# Starts a throwaway one-node Ceph cluster with an S3 gateway on loopback:
# one monitor, one OSD keeping objects in RAM (memstore), no manager (S3
# traffic needs none), and the RADOS Gateway (beast frontend). About 3-7 s.
# Prints the environment the replica tests read, as `export` lines on
# stdout (progress goes to stderr), and keeps a copy in $SHM_HOST_S3_DIR/env:
#   eval "$(scripts/s3/up.sh)"
# Settings (environment): SHM_HOST_S3_DIR, SHM_HOST_S3_PORT (7480),
# SHM_HOST_S3_MON_PORT (40300), SHM_HOST_S3_ACCESS_KEY, SHM_HOST_S3_SECRET_KEY.
# Addressing is path-style, the region us-east-1. scripts/s3/down.sh stops it.
set -euo pipefail
here=$(dirname "$0")
. "$here/common.sh"
for bin in ceph-mon ceph-osd radosgw; do
  command -v "$bin" >/dev/null 2>&1 || { say "$bin is not installed: run scripts/s3/install.sh as root"; exit 1; }
done
started=$SECONDS

# A cluster left in the same directory goes first: its daemons would hold the ports.
"$here/down.sh"
mkdir -p "$S3_DIR"/{run,log,crash,mon.a,osd.0,rgw}
fsid=$(uuidgen)

# Settings that matter, each learned the slow way:
# - paxos propose interval / min wait: by default every pool the gateway
#   creates waits about a second for the monitor, and the gateway takes
#   20-30 s to come up instead of 3.
# - size 1, no autoscale, crush on OSDs (chooseleaf type 0): one OSD must be
#   enough for every pool to become active.
# - msgr2 only on loopback; the monitor's address is given as v2.
# - rgw gc: the gateway frees a deleted object's data only in its garbage
#   collection, by default two hours later; on memstore the OSD then fills
#   up (4 GiB here) and blocks every write, and requests hang. Collect at once.
cat > "$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$S3_MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $S3_DIR/keyring
run dir = $S3_DIR/run
admin socket = $S3_DIR/run/\$name.asok
pid file = $S3_DIR/run/\$name.pid
log file = $S3_DIR/log/\$name.log
crash dir = $S3_DIR/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon max pg per osd = 1000
mon warn on insecure global id reclaim allowed = false
paxos propose interval = 0.01
paxos min wait = 0.001
[mon]
mon data = $S3_DIR/\$name
mon cluster log file = $S3_DIR/log/cluster.log
[osd]
osd data = $S3_DIR/\$name
osd objectstore = memstore
memstore device bytes = 4294967296
osd op num shards = 1
osd op num threads per shard = 2
[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$S3_PORT
rgw data = $S3_DIR/rgw
rgw thread pool size = 64
rgw dns name = localhost
rgw gc obj min wait = 0
rgw gc processor period = 2
rgw gc processor max time = 2
CONF

# One keyring for every entity. Each entity needs caps: the monitor's mkfs
# imports none of the keys otherwise, and every client is then refused with
# "handle_auth_bad_method ... permission denied".
key() { ceph-authtool "$S3_DIR/keyring" --gen-key "$@" >/dev/null; }
ceph-authtool --create-keyring "$S3_DIR/keyring" >/dev/null
key -n mon. --cap mon 'allow *'
key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
key -n osd.0 --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *'
key -n client.rgw.gw --cap mon 'allow rw' --cap mgr 'allow rw' --cap osd 'allow rwx'

monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$S3_MON_PORT]" "$S3_DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$S3_DIR/monmap" --keyring "$S3_DIR/keyring"
ceph-mon -i a
wait_until 60 ceph --connect-timeout 5 mon stat
say "monitor up after $((SECONDS - started)) s"

osd_uuid=$(uuidgen)
ceph osd new "$osd_uuid" 0 >/dev/null
ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" 2>"$S3_DIR/log/osd.0.mkfs.log"
ceph-osd -i 0
osd_up() { ceph osd stat -f json | grep -q '"num_up_osds":1'; }
wait_until 60 osd_up
say "OSD up after $((SECONDS - started)) s"

radosgw -n client.rgw.gw
wait_until 60 gateway_answers
radosgw-admin user create --uid=shm-host-test --display-name=shm-host-test \
  --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null
# Signed requests work once the user is known to the gateway: list buckets.
signed_list() {
  curl -sf -o /dev/null --max-time 5 --aws-sigv4 aws:amz:us-east-1:s3 \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$S3_ENDPOINT/"
}
wait_until 30 signed_list
say "gateway accepts signed requests at $S3_ENDPOINT after $((SECONDS - started)) s"

cat > "$S3_DIR/env" <<ENV
export SHM_HOST_TEST_S3_ENDPOINT=$S3_ENDPOINT
export SHM_HOST_TEST_S3_DIR=$S3_DIR
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_REGION=us-east-1
ENV
cat "$S3_DIR/env"
