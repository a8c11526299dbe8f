-- Ingestion (issue 18): replay facts were keyed by their request-log id, a random UUID, so every insert landed on a
-- random leaf of that index. They are now keyed by the request-log row's seq, which grows, so inserts append to the
-- index's rightmost leaf. Measured in psql on a table at its steady state (400,000 facts, 20 endpoints at the 20,000
-- bound), inserting 5,000 facts, nine alternating runs each: 86-132 ms by id (ON CONFLICT DO NOTHING, as before),
-- 55-77 ms by seq (ON CONFLICT DO UPDATE, as now). Retention deletes a chunk's facts by seq and the replay joins
-- request_logs on seq and id (both indexed). request_log_id stays, unindexed, as the facts' link to their row.
ALTER TABLE "request_replay_facts" ADD COLUMN "seq" BIGINT;

UPDATE "request_replay_facts" AS f SET "seq" = r."seq" FROM "request_logs" AS r WHERE r."id" = f."request_log_id";

-- Facts whose request-log row is gone already (retention deletes both in one statement, so there should be none).
DELETE FROM "request_replay_facts" WHERE "seq" IS NULL;

ALTER TABLE "request_replay_facts" DROP CONSTRAINT "request_replay_facts_pkey";

ALTER TABLE "request_replay_facts" ALTER COLUMN "seq" SET NOT NULL;

ALTER TABLE "request_replay_facts" ADD CONSTRAINT "request_replay_facts_pkey" PRIMARY KEY ("seq");
