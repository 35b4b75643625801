#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d): one owner login per
# system. Opsflow's owner runs its migrations (the migrate job then adds the restricted runtime login); Temporal's
# owns its persistence and visibility databases, whose schemas the temporal-schema job applies.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v opsflow_password="$OPSFLOW_DB_PASSWORD" -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE opsflow LOGIN PASSWORD :'opsflow_password';
CREATE DATABASE opsflow OWNER opsflow;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
