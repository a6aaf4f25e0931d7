#!/usr/bin/env bash
# Stops or starts only the RADOS Gateway of a cluster up.sh started (same
# environment): tests use it to take S3 away and bring it back while the
# monitor and OSD, and so every stored object, stay.
# Usage: gateway.sh stop|start
set -euo pipefail
. "$(dirname "$0")/common.sh"
case "${1:-}" in
  stop) kill_daemons 'client.rgw.*.pid' ;;
  start)
    [ -f "$CEPH_CONF" ] || { say "no cluster in $S3_DIR: run scripts/s3/up.sh first"; exit 1; }
    radosgw -n client.rgw.gw
    wait_until 60 gateway_answers ;;
  *) say "usage: gateway.sh stop|start"; exit 2 ;;
esac
