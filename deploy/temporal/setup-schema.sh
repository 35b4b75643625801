#!/bin/sh
# The temporal-schema job (temporalio/admin-tools): applies Temporal's PostgreSQL schemas with its own schema tool.
# Safe to run on every `up`: setup-schema only creates the version table, update-schema applies what is missing
# (which is also how a Temporal upgrade migrates its databases: bump the image tags, then `up`).
# The defaults are docker-compose.yml's; test/deploy/compose-jobs.test.ts points them at a test database.
set -eu
host="${SQL_HOST:-postgres}"
port="${SQL_PORT:-5432}"
user="${SQL_USER:-temporal}"
schemas="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
sql_tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
for pair in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  schema=${pair#*:}
  "$sql_tool" --plugin postgres12 --ep "$host" -p "$port" -u "$user" --db "$db" setup-schema -v 0.0
  "$sql_tool" --plugin postgres12 --ep "$host" -p "$port" -u "$user" --db "$db" update-schema -d "$schemas/$schema/versioned"
done
echo 'Temporal schemas are up to date'
