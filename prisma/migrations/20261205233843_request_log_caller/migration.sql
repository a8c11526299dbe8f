-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "caller" JSONB,
ADD COLUMN     "caller_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "request_logs_mcp_tool_timestamp_idx" ON "request_logs"("mcp_tool", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "request_logs_caller_ids_idx" ON "request_logs" USING GIN ("caller_ids");
