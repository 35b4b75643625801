-- The role the API and the worker run as (through a LOGIN member, see lib/db-roles.ts): it reads and writes the
-- read models but may only INSERT and SELECT audit entries, and never touches the migrations table. Migrations
-- keep running as the owner, which owns every table, so only the owner can ALTER, TRUNCATE or disable triggers.
--
-- Roles are cluster-wide: the role may exist already (another database on the same server, or created by an
-- administrator beforehand, in which case this migration needs no CREATEROLE). Prisma's migration runner splits
-- the file on every semicolon, even inside quotes, so the DO body spells its semicolons as \073 in an E'' string.
DO E'BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ''opsflow_runtime'') THEN CREATE ROLE opsflow_runtime NOLOGIN\073 END IF\073 END';

GRANT USAGE ON SCHEMA public TO opsflow_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO opsflow_runtime;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO opsflow_runtime;

-- Evidence: append and read only (the trigger stops the owner too, but the owner can disable it, this role cannot).
REVOKE UPDATE, DELETE, TRUNCATE ON "AuditEntry" FROM opsflow_runtime;
REVOKE ALL ON "_prisma_migrations" FROM opsflow_runtime;

-- Tables and sequences later migrations create (run by the same owner) get the ordinary grants automatically. A
-- later append-only table must REVOKE like AuditEntry above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO opsflow_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO opsflow_runtime;
