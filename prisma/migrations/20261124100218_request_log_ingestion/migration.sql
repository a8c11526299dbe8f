/*
  Warnings:

  - A unique constraint covering the columns `[seq]` on the table `request_logs` will be added. If there are existing duplicate values, this will fail.

*/
-- DropIndex
DROP INDEX "request_logs_timestamp_endpoint_id_idx";

-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "decision_action" TEXT,
ADD COLUMN     "mcp_tool" TEXT,
ADD COLUMN     "request_body" TEXT,
ADD COLUMN     "request_headers" JSONB,
ADD COLUMN     "response_body" TEXT,
ADD COLUMN     "response_headers" JSONB,
ADD COLUMN     "runtime_errors" JSONB,
ADD COLUMN     "seq" BIGSERIAL NOT NULL,
ADD COLUMN     "trace" JSONB;

-- CreateIndex
CREATE UNIQUE INDEX "request_logs_seq_key" ON "request_logs"("seq");

-- CreateIndex
CREATE INDEX "request_logs_endpoint_id_timestamp_id_idx" ON "request_logs"("endpoint_id", "timestamp" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "request_logs_decision_action_timestamp_idx" ON "request_logs"("decision_action", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "request_logs_client_ip_timestamp_idx" ON "request_logs"("client_ip", "timestamp" DESC);
