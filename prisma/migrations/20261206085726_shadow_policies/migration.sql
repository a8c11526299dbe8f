-- AlterTable
ALTER TABLE "endpoints" ADD COLUMN     "shadow_policy_created_at" TIMESTAMPTZ(3),
ADD COLUMN     "shadow_policy_message" VARCHAR(1024),
ADD COLUMN     "shadow_policy_sha256" CHAR(64),
ADD COLUMN     "shadow_policy_source" TEXT;

-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "shadow" JSONB,
ADD COLUMN     "shadow_differs" BOOLEAN;

