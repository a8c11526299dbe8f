-- Ingestion (issue 18): keeping the newest 20,000 replay facts per endpoint found each endpoint's cut-off with
-- `ORDER BY seq DESC OFFSET 20000`, which reads every kept row of every endpoint in the batch (and the heap behind
-- most of them: fresh pages are not all-visible) for every batch; measured at 90 µs of Postgres time per event with
-- 10,000 rows per endpoint, growing with the table. A per-endpoint ordinal (1, 2, 3, … in seq order) turns the cut-off
-- into arithmetic: `ordinal <= newest - 20000`, a range that holds only the rows being deleted. It replaces seq, whose
-- only use was that order.
ALTER TABLE "request_replay_facts" ADD COLUMN "ordinal" BIGINT;

UPDATE "request_replay_facts" AS f SET "ordinal" = numbered."ordinal"
FROM (
  SELECT "request_log_id", row_number() OVER (PARTITION BY "endpoint_id" ORDER BY "seq") AS "ordinal"
  FROM "request_replay_facts"
) AS numbered
WHERE f."request_log_id" = numbered."request_log_id";

ALTER TABLE "request_replay_facts" ALTER COLUMN "ordinal" SET NOT NULL;

DROP INDEX "request_replay_facts_endpoint_id_seq_idx";

ALTER TABLE "request_replay_facts" DROP COLUMN "seq";

CREATE INDEX "request_replay_facts_endpoint_id_ordinal_idx" ON "request_replay_facts"("endpoint_id", "ordinal" DESC);
