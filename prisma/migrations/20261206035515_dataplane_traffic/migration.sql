-- AlterTable
ALTER TABLE "dataplanes" ADD COLUMN     "traffic" JSONB;
