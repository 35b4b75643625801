#!/bin/sh
# The temporal-schema job (temporalio/admin-tools): applies Temporal's PostgreSQL schemas with its own schema tool.
# Safe to run on every `up`: setup-schema only creates the version table, update-schema applies what is missing
# (which is also how a Temporal upgrade migrates its databases: bump both image tags, then `up`).
set -eu
for db in temporal temporal_visibility; do
  dir=$([ "$db" = temporal ] && echo temporal || echo visibility)
  temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$db" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo 'Temporal schemas are up to date'
