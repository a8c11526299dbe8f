-- CreateTable
CREATE TABLE "authtokens" (
    "id" TEXT NOT NULL,
    "description" VARCHAR(255) NOT NULL DEFAULT '',
    "prefix" TEXT NOT NULL,
    "secret_hash" CHAR(64) NOT NULL,
    "url_patterns" TEXT[],
    "created_by_id" TEXT,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "authtokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "authtokens_prefix_key" ON "authtokens"("prefix");

-- CreateIndex
CREATE UNIQUE INDEX "authtokens_secret_hash_key" ON "authtokens"("secret_hash");

-- AddForeignKey
ALTER TABLE "authtokens" ADD CONSTRAINT "authtokens_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
