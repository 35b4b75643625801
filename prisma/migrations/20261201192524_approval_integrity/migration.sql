-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "policy" JSONB,
ADD COLUMN     "policyVersion" INTEGER,
ADD COLUMN     "startedBy" TEXT;

-- AlterTable
ALTER TABLE "ApprovalRequest" ADD COLUMN     "decidedVersion" TEXT,
ADD COLUMN     "factsSnapshot" JSONB;

-- CreateTable
CREATE TABLE "ProcessPolicy" (
    "process" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "policy" JSONB NOT NULL,
    "createdBy" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProcessPolicy_pkey" PRIMARY KEY ("process","version")
);

-- CreateTable
CREATE TABLE "RunFactsVersion" (
    "runId" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "facts" JSONB NOT NULL,
    "input" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RunFactsVersion_pkey" PRIMARY KEY ("runId","version")
);

-- AddForeignKey
ALTER TABLE "RunFactsVersion" ADD CONSTRAINT "RunFactsVersion_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

