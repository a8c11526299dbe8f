-- AlterTable
ALTER TABLE "policy_versions" ADD COLUMN     "test_result" JSONB,
ADD COLUMN     "tests" JSONB NOT NULL DEFAULT '[]';
