-- AlterEnum
ALTER TYPE "ActorType" ADD VALUE 'authtoken';

-- AlterEnum
ALTER TYPE "EndpointType" ADD VALUE 'agent';

-- AlterTable
ALTER TABLE "policy_versions" ALTER COLUMN "created_by" DROP NOT NULL;

-- CreateTable
CREATE TABLE "agent_sessions" (
    "id" TEXT NOT NULL,
    "authtoken_id" TEXT NOT NULL,
    "session_key" TEXT NOT NULL,
    "live_session_key" TEXT,
    "agent_version" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "remote_address" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "detached_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "end_reason" TEXT,

    CONSTRAINT "agent_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_session_dataplanes" (
    "session_id" TEXT NOT NULL,
    "dataplane_id" TEXT NOT NULL,
    "connected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_session_dataplanes_pkey" PRIMARY KEY ("session_id","dataplane_id")
);

-- CreateTable
CREATE TABLE "agent_endpoint_members" (
    "endpoint_id" TEXT NOT NULL,
    "session_id" TEXT NOT NULL,
    "upstream" TEXT NOT NULL,
    "upstream_protocol" TEXT NOT NULL,
    "pooling_enabled" BOOLEAN NOT NULL,
    "joined_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_endpoint_members_pkey" PRIMARY KEY ("endpoint_id","session_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "agent_sessions_live_session_key_key" ON "agent_sessions"("live_session_key");

-- CreateIndex
CREATE INDEX "agent_sessions_authtoken_id_id_idx" ON "agent_sessions"("authtoken_id", "id");

-- CreateIndex
CREATE INDEX "agent_sessions_ended_at_detached_at_idx" ON "agent_sessions"("ended_at", "detached_at");

-- CreateIndex
CREATE INDEX "agent_session_dataplanes_dataplane_id_idx" ON "agent_session_dataplanes"("dataplane_id");

-- CreateIndex
CREATE INDEX "agent_endpoint_members_session_id_idx" ON "agent_endpoint_members"("session_id");

-- AddForeignKey
ALTER TABLE "agent_sessions" ADD CONSTRAINT "agent_sessions_authtoken_id_fkey" FOREIGN KEY ("authtoken_id") REFERENCES "authtokens"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_session_dataplanes" ADD CONSTRAINT "agent_session_dataplanes_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "agent_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_endpoint_members" ADD CONSTRAINT "agent_endpoint_members_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_endpoint_members" ADD CONSTRAINT "agent_endpoint_members_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "agent_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
