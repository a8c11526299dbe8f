-- CreateTable
CREATE TABLE "vaults" (
    "name" VARCHAR(64) NOT NULL,
    "description" VARCHAR(255) NOT NULL DEFAULT '',
    "created_by" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "vaults_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "secrets" (
    "vault_name" VARCHAR(64) NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "description" VARCHAR(255) NOT NULL DEFAULT '',
    "key_id" VARCHAR(32) NOT NULL,
    "nonce" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "created_by" TEXT NOT NULL DEFAULT '',
    "updated_by" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "secrets_pkey" PRIMARY KEY ("vault_name","name")
);

-- AddForeignKey
ALTER TABLE "secrets" ADD CONSTRAINT "secrets_vault_name_fkey" FOREIGN KEY ("vault_name") REFERENCES "vaults"("name") ON DELETE RESTRICT ON UPDATE CASCADE;
