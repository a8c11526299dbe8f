-- CreateTable
CREATE TABLE "traffic_rollups" (
    "resolution" INTEGER NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "endpoint_id" TEXT NOT NULL,
    "requests" BIGINT NOT NULL DEFAULT 0,
    "denied" BIGINT NOT NULL DEFAULT 0,
    "rate_limited" BIGINT NOT NULL DEFAULT 0,
    "upstream_errors" BIGINT NOT NULL DEFAULT 0,
    "duration_sum_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "latency_histogram" BIGINT[],

    CONSTRAINT "traffic_rollups_pkey" PRIMARY KEY ("resolution","endpoint_id","bucket")
);

-- CreateTable
CREATE TABLE "traffic_rollup_keys" (
    "resolution" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "endpoint_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "traffic_rollup_keys_pkey" PRIMARY KEY ("resolution","kind","endpoint_id","bucket","key")
);

-- Element-wise sum of two latency histograms (the upsert at ingestion adds a batch's counts to a stored row).
CREATE FUNCTION traffic_histogram_add(a BIGINT[], b BIGINT[]) RETURNS BIGINT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), ARRAY[]::BIGINT[])
  FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$;

-- Backfill from the rows already stored, with the bin edges, definitions and key limit of the ingestion code
-- (apps/api/src/request-logs/traffic-rollup.ts): after this, ingestion keeps both tables current. Every request
-- counts under its endpoint ('' for none) and under '*' (all endpoints).
WITH edges AS (
  SELECT ARRAY[0.5,1,1.5,2,2.5,3,4,5,6,8,10,12,15,20,25,30,40,50,60,80,100,120,150,200,250,300,400,500,600,800,1000,1200,1500,2000,2500,3000,4000,5000,6000,8000,10000,15000,20000,30000,60000]::float8[] AS e
), resolutions AS (
  SELECT unnest(ARRAY[60, 900, 3600]) AS resolution
), scopes AS (
  SELECT unnest(ARRAY[false, true]) AS everything
), binned AS (
  SELECT r.resolution,
         to_timestamp(floor(extract(epoch FROM l."timestamp") / r.resolution) * r.resolution) AS bucket,
         CASE WHEN s.everything THEN '*' ELSE coalesce(l.endpoint_id, '') END AS endpoint_id,
         width_bucket(l.duration_ms, (SELECT e FROM edges)) + 1 AS bin,
         l.duration_ms,
         l.decision_action IN ('deny', 'restrict-ips', 'basic-auth', 'jwt-validation', 'verify-webhook', 'close-connection') AS is_denied,
         l.status = 429 AS is_rate_limited,
         l.status >= 500 AS is_upstream_error
  FROM request_logs l CROSS JOIN resolutions r CROSS JOIN scopes s
), per_bin AS (
  SELECT resolution, bucket, endpoint_id, bin, count(*) AS n, sum(duration_ms) AS duration_sum,
         count(*) FILTER (WHERE is_denied) AS denied, count(*) FILTER (WHERE is_rate_limited) AS rate_limited,
         count(*) FILTER (WHERE is_upstream_error) AS upstream_errors
  FROM binned GROUP BY resolution, bucket, endpoint_id, bin
)
INSERT INTO traffic_rollups (resolution, bucket, endpoint_id, requests, denied, rate_limited, upstream_errors, duration_sum_ms, latency_histogram)
SELECT p.resolution, p.bucket, p.endpoint_id, sum(p.n), sum(p.denied), sum(p.rate_limited), sum(p.upstream_errors),
       sum(p.duration_sum),
       (SELECT array_agg(coalesce((jsonb_object_agg(p.bin, p.n) ->> i::text)::bigint, 0) ORDER BY i)
        FROM generate_series(1, 46) AS i)
FROM per_bin p GROUP BY p.resolution, p.bucket, p.endpoint_id;

INSERT INTO traffic_rollup_keys (resolution, kind, bucket, endpoint_id, key, count)
SELECT resolution, kind, bucket, endpoint_id, key, count FROM (
  SELECT g.*, row_number() OVER (PARTITION BY resolution, kind, bucket, endpoint_id ORDER BY count DESC, key) AS rank
  FROM (
    SELECT r.resolution, k.kind, to_timestamp(floor(extract(epoch FROM l."timestamp") / r.resolution) * r.resolution) AS bucket,
           CASE WHEN s.everything THEN '*' ELSE coalesce(l.endpoint_id, '') END AS endpoint_id, k.key, count(*) AS count
    FROM request_logs l
    CROSS JOIN (SELECT unnest(ARRAY[60, 900, 3600]) AS resolution) r
    CROSS JOIN (SELECT unnest(ARRAY[false, true]) AS everything) s
    CROSS JOIN LATERAL (
      SELECT 'deny_rule' AS kind,
             coalesce(l.endpoint_id, '') || '#' || coalesce(l.decision->>'phase', 'unknown') || '#'
               || coalesce(l.decision->>'rule_index', '-1') || '#' || coalesce(l.decision->>'rule_name', '') AS key
      WHERE l.decision_action IN ('deny', 'restrict-ips', 'basic-auth', 'jwt-validation', 'verify-webhook', 'close-connection')
      UNION ALL
      SELECT 'denied_client', l.client_ip
      WHERE l.decision_action IN ('deny', 'restrict-ips', 'basic-auth', 'jwt-validation', 'verify-webhook', 'close-connection')
      UNION ALL
      SELECT 'mcp_tool', l.mcp_tool WHERE l.mcp_tool IS NOT NULL AND l.mcp_tool <> ''
    ) k
    GROUP BY 1, 2, 3, 4, 5
  ) g
) ranked
WHERE rank <= 100;
