-- Hash chains over the audit log (lib/audit-chain.ts). Generated with `prisma migrate diff` from the previous
-- schema to this one, then edited by hand: the new columns start nullable so existing rows can be numbered,
-- and only then become NOT NULL.

-- AlterTable
ALTER TABLE "AuditEntry" ADD COLUMN     "chain" TEXT,
ADD COLUMN     "hash" TEXT,
ADD COLUMN     "prevHash" TEXT,
ADD COLUMN     "seq" INTEGER;

-- Entries written before chaining (legacy): their chain is the run (or "org"), numbered in insert (id) order.
-- Their hashes stay NULL: a hash computed now would vouch for content nobody checked when it was written. Each
-- chain's first new entry links to the genesis value. The append-only trigger is off for this UPDATE only.
ALTER TABLE "AuditEntry" DISABLE TRIGGER "AuditEntry_append_only";

UPDATE "AuditEntry" AS e
SET "chain" = numbered."chain", "seq" = numbered."seq"
FROM (
  SELECT "id", coalesce("runId", 'org') AS "chain",
         row_number() OVER (PARTITION BY coalesce("runId", 'org') ORDER BY "id") AS "seq"
  FROM "AuditEntry"
) AS numbered
WHERE e."id" = numbered."id";

ALTER TABLE "AuditEntry" ENABLE TRIGGER "AuditEntry_append_only";

ALTER TABLE "AuditEntry" ALTER COLUMN "chain" SET NOT NULL,
ALTER COLUMN "seq" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "AuditEntry_chain_seq_key" ON "AuditEntry"("chain", "seq");
