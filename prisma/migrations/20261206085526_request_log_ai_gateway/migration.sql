-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "ai_gateway" JSONB;
