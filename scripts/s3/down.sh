#!/usr/bin/env bash
# Stops the cluster up.sh started (same environment) and deletes its data.
set -uo pipefail
. "$(dirname "$0")/common.sh"
kill_daemons 'client.rgw.*.pid'
kill_daemons 'osd.*.pid'
kill_daemons 'mon.*.pid'
rm -rf "$S3_DIR"
