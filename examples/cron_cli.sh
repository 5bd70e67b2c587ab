#!/bin/sh
# Guard a cron job that runs on several hosts: whichever host gets the lease runs the command;
# the others exit 0 at once (the lease is held), so cron sends no mail about them.
#
#   */15 * * * *  CLOUDLEASE_STORE=dynamodb://cloudlease-leases?region=eu-west-1 \
#                 /opt/jobs/cron_cli.sh /opt/jobs/backup.sh --full
#
# The command sees CLOUDLEASE_TOKEN (fence its writes with it) and is stopped if the lease is
# lost; the lease is released when it exits. LEASE and TTL can be overridden from the crontab.
set -eu
: "${CLOUDLEASE_STORE:?set CLOUDLEASE_STORE to the store URL}"
exec "${CLOUDLEASE:-cloudlease}" run \
  --lease "${LEASE:-nightly-backup}" \
  --ttl "${TTL:-60}" \
  --skip-exit-code 0 \
  -- "$@"
