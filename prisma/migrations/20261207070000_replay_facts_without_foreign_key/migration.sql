-- Ingestion (issue 18): the foreign key to request_logs checked every inserted replay fact with a lookup and a
-- KEY SHARE row lock (a heap write and a WAL record) on the request-log row the same transaction had just inserted:
-- inserting 20,000 facts took 126-229 ms without it and 265-462 ms with it. The two rows are only ever written
-- together (ingestion, in one transaction) and deleted together (retention deletes a chunk's facts in the statement
-- that deletes the chunk), so the key guarded nothing those paths do not.
ALTER TABLE "request_replay_facts" DROP CONSTRAINT "request_replay_facts_request_log_id_fkey";
