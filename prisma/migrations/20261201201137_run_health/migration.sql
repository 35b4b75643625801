-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "stuckReason" TEXT,
ADD COLUMN     "stuckSince" TIMESTAMP(3);

