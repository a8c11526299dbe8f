-- CreateEnum
CREATE TYPE "EndpointType" AS ENUM ('cloud', 'internal');

-- CreateEnum
CREATE TYPE "UpstreamHostHeader" AS ENUM ('preserve', 'rewrite');

-- CreateEnum
CREATE TYPE "UserRole" AS ENUM ('admin', 'editor', 'viewer');

-- CreateEnum
CREATE TYPE "ActorType" AS ENUM ('user', 'api_key', 'system');

-- CreateTable
CREATE TABLE "endpoints" (
    "id" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "type" "EndpointType" NOT NULL,
    "proto" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "description" VARCHAR(255) NOT NULL DEFAULT '',
    "metadata" VARCHAR(4096) NOT NULL DEFAULT '',
    "upstream_url" TEXT,
    "upstream_host_header" "UpstreamHostHeader" NOT NULL DEFAULT 'preserve',
    "active_policy_version" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_versions" (
    "endpoint_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "source" TEXT NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "message" VARCHAR(1024) NOT NULL DEFAULT '',
    "created_by" TEXT NOT NULL,
    "restored_from" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_versions_pkey" PRIMARY KEY ("endpoint_id","version")
);

-- CreateTable
CREATE TABLE "ip_categories" (
    "name" TEXT NOT NULL,
    "cidrs" TEXT[],
    "description" VARCHAR(255) NOT NULL DEFAULT '',
    "builtin" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ip_categories_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "config_changes" (
    "revision" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "entity_id" TEXT NOT NULL,
    "payload" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "config_changes_pkey" PRIMARY KEY ("revision")
);

-- CreateTable
CREATE TABLE "request_logs" (
    "id" TEXT NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "endpoint_id" TEXT,
    "endpoint_url" TEXT,
    "policy_version" INTEGER,
    "method" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "query" TEXT NOT NULL DEFAULT '',
    "status" INTEGER NOT NULL,
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "upstream_duration_ms" DOUBLE PRECISION,
    "bytes_in" BIGINT NOT NULL DEFAULT 0,
    "bytes_out" BIGINT NOT NULL DEFAULT 0,
    "client_ip" TEXT NOT NULL,
    "client_ip_categories" TEXT[],
    "user_agent" TEXT,
    "forwarded_to" TEXT,
    "decision" JSONB,
    "rules_matched" JSONB,
    "error_code" TEXT,
    "logs" JSONB,
    "mcp" JSONB,
    "trace_id" TEXT,

    CONSTRAINT "request_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" TEXT NOT NULL,
    "actor_type" "ActorType" NOT NULL,
    "actor_id" TEXT,
    "actor_name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "entity_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "ip" TEXT,
    "request_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "UserRole" NOT NULL,
    "last_login_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "user_id" TEXT NOT NULL,
    "ip" TEXT,
    "user_agent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "description" VARCHAR(255) NOT NULL DEFAULT '',
    "prefix" TEXT NOT NULL,
    "secret_hash" CHAR(64) NOT NULL,
    "role" "UserRole" NOT NULL,
    "created_by_id" TEXT,
    "last_used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataplanes" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "applied_revision" BIGINT NOT NULL,
    "last_error" TEXT,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dataplanes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "endpoints_url_key" ON "endpoints"("url");

-- CreateIndex
CREATE INDEX "endpoints_host_idx" ON "endpoints"("host");

-- CreateIndex
CREATE INDEX "endpoints_type_id_idx" ON "endpoints"("type", "id");

-- CreateIndex
CREATE INDEX "config_changes_published_at_revision_idx" ON "config_changes"("published_at", "revision");

-- CreateIndex
CREATE INDEX "config_changes_created_at_idx" ON "config_changes"("created_at");

-- CreateIndex
CREATE INDEX "request_logs_timestamp_id_idx" ON "request_logs"("timestamp" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "request_logs_timestamp_endpoint_id_idx" ON "request_logs"("timestamp" DESC, "endpoint_id");

-- CreateIndex
CREATE INDEX "request_logs_timestamp_status_idx" ON "request_logs"("timestamp" DESC, "status");

-- CreateIndex
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at" DESC);

-- CreateIndex
CREATE INDEX "audit_events_entity_id_created_at_idx" ON "audit_events"("entity_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "audit_events_kind_created_at_idx" ON "audit_events"("kind", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions"("token_hash");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");

-- AddForeignKey
ALTER TABLE "policy_versions" ADD CONSTRAINT "policy_versions_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
