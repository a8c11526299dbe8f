-- CreateTable
CREATE TABLE "policy_rule_counters" (
    "endpoint_id" TEXT NOT NULL,
    "policy_version" INTEGER NOT NULL,
    "phase" TEXT NOT NULL,
    "rule_index" INTEGER NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "evaluations" BIGINT NOT NULL DEFAULT 0,
    "hits" BIGINT NOT NULL DEFAULT 0,
    "denies" BIGINT NOT NULL DEFAULT 0,
    "latency_sum_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "last_match_at" TIMESTAMPTZ(3),

    CONSTRAINT "policy_rule_counters_pkey" PRIMARY KEY ("endpoint_id","policy_version","phase","rule_index","bucket")
);

-- CreateIndex
CREATE INDEX "policy_rule_counters_bucket_idx" ON "policy_rule_counters"("bucket");
