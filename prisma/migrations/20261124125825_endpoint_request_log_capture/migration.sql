-- AlterTable
ALTER TABLE "endpoints" ADD COLUMN     "request_log_capture_bodies" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "request_log_capture_headers" BOOLEAN NOT NULL DEFAULT false;
