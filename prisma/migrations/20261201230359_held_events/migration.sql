-- AlterTable
ALTER TABLE "InboundEvent" ADD COLUMN     "correlationKey" TEXT,
ADD COLUMN     "heldFor" TEXT,
ADD COLUMN     "holdUntil" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "InboundEvent_heldFor_correlationKey_status_receivedAt_idx" ON "InboundEvent"("heldFor", "correlationKey", "status", "receivedAt");

