-- Ingestion (issue 18): replay facts are only ever read whole (the replay parses them in Node) and never queried
-- inside, so json (the text as it came, validated) serves as well as jsonb, without building jsonb's binary form for
-- every fact on insert: inserting 20,000 facts of ~1 KB took 138-188 ms as json and 242-283 ms as jsonb (psql,
-- alternating), and the text is also smaller than the binary form (~1,040 against ~1,170 bytes a fact).
ALTER TABLE "request_replay_facts" ALTER COLUMN "facts" SET DATA TYPE JSON USING "facts"::json;
