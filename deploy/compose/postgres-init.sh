#!/usr/bin/env bash
# Runs once, as the superuser, when a database server's volume is empty
# (/docker-entrypoint-initdb.d of the postgres image). It creates the
# platform role: CREATEDB and CREATEROLE, not a superuser, the role in
# STOREFLEET_CONTROLPLANE_DATABASE_URL and STOREFLEET_DB_SERVER_URL. On the
# server that holds the control plane (STOREFLEET_CONTROLPLANE_DB set) it
# also creates that database, owned by the platform role. Vendor roles live
# in the same cluster, so nobody else may connect to these databases.
set -euo pipefail
: "${STOREFLEET_PG_PASSWORD:?set STOREFLEET_PG_PASSWORD in .env}"

psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres \
	-v pw="$STOREFLEET_PG_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE storefleet LOGIN CREATEDB CREATEROLE'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'storefleet') \gexec
ALTER ROLE storefleet PASSWORD :'pw';
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
GRANT CONNECT ON DATABASE postgres TO storefleet;
SQL

if [ -n "${STOREFLEET_CONTROLPLANE_DB:-}" ]; then
	psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres \
		-v db="$STOREFLEET_CONTROLPLANE_DB" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER storefleet', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
fi
