-- CreateTable
CREATE TABLE "request_replay_facts" (
    "request_log_id" TEXT NOT NULL,
    "endpoint_id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "facts" JSONB NOT NULL,

    CONSTRAINT "request_replay_facts_pkey" PRIMARY KEY ("request_log_id")
);

-- CreateIndex
CREATE INDEX "request_replay_facts_endpoint_id_seq_idx" ON "request_replay_facts"("endpoint_id", "seq" DESC);

-- AddForeignKey
ALTER TABLE "request_replay_facts" ADD CONSTRAINT "request_replay_facts_request_log_id_fkey" FOREIGN KEY ("request_log_id") REFERENCES "request_logs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
