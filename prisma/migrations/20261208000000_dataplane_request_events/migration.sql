-- The request-event pipeline's counters as each data plane's last heartbeat reported them (contracts
-- DataplaneRequestEvents): the fleet view shows a data plane holding request events back or losing them. Null when the
-- data plane has no queue (embedded shape) or predates the field.
ALTER TABLE "dataplanes" ADD COLUMN "request_events" JSONB;
