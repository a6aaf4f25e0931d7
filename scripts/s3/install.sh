#!/usr/bin/env bash
# Installs Debian's Ceph monitor, OSD and RADOS Gateway when any of them is
# missing: the S3-compatible server the replica tests run against. A no-op
# once installed (the packages start no service by themselves). Root only.
set -euo pipefail
missing=0
for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool ceph; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done
for bin in uuidgen curl; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done
[ "$missing" = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "s3/install.sh: Ceph is not installed and installing it needs root: run 'apt-get install radosgw ceph-mon ceph-osd' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl
