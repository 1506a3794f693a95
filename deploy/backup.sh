#!/bin/sh
# One backup of a Jointly store, safe while the server runs (jointly-admin backup takes a RocksDB
# checkpoint), checked with `jointly-admin check`, then all but the newest $JOINTLY_BACKUP_KEEP
# backups removed. A backup appears under its final name only once it is complete and sound, so
# a crash midway never leaves a half backup that looks whole.
#
#   JOINTLY_DATA        the store (default /var/lib/jointly/data)
#   JOINTLY_BACKUP_DIR  where backups go (default /var/backups/jointly)
#   JOINTLY_BACKUP_KEEP how many to keep (default 14)
#   JOINTLY_ADMIN       the jointly-admin binary (default /opt/jointly/bin/jointly-admin)
#
# Exit status: 0 done; 1 the backup or its check failed (the old backups are left untouched).
set -eu

data=${JOINTLY_DATA:-/var/lib/jointly/data}
dir=${JOINTLY_BACKUP_DIR:-/var/backups/jointly}
keep=${JOINTLY_BACKUP_KEEP:-14}
admin=${JOINTLY_ADMIN:-/opt/jointly/bin/jointly-admin}

case $keep in
  '' | *[!0-9]* | 0) echo "backup.sh: JOINTLY_BACKUP_KEEP must be a whole number from 1" >&2; exit 1 ;;
esac

mkdir -p "$dir"
# Nanoseconds in the name: two backups in one second never collide, and names sort by time.
name=jointly-$(date -u +%Y%m%dT%H%M%S.%NZ)
if [ -e "$dir/$name" ]; then echo "backup.sh: $dir/$name exists" >&2; exit 1; fi
partial=$dir/.$name.partial
rm -rf "$partial"
trap 'rm -rf "$partial"' EXIT

"$admin" backup --data "$data" --to "$partial"
"$admin" check --data "$partial"
mv "$partial" "$dir/$name"
trap - EXIT
echo "backup.sh: wrote $dir/$name"

# Prune: names sort by time; keep the newest $keep.
count=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'jointly-*' | wc -l)
if [ "$count" -gt "$keep" ]; then
  find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'jointly-*' | sort |
    head -n $((count - keep)) | while read -r old; do
      rm -rf "$old"
      echo "backup.sh: removed $old"
    done
fi
