ALTER TABLE "runs" ADD COLUMN "depth" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "binding_id" uuid;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "perspective_user_id" uuid;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "perspective_system" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "perspective_closing_turn" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "output" text;--> statement-breakpoint
CREATE INDEX "runs_queued" ON "runs" USING btree ("created_at") WHERE "runs"."status" = 'queued';--> statement-breakpoint
-- Runs of before this migration: an advice run is private to its owner (the rule used to read the advice row).
UPDATE "runs" SET "output" = 'advice', "perspective_user_id" = "advice"."user_id", "binding_id" = "advice"."binding_id" FROM "advice" WHERE "advice"."run_id" = "runs"."id" AND "advice"."kind" = 'suggestion';--> statement-breakpoint
UPDATE "runs" SET "perspective_user_id" = "on_behalf_of" WHERE "on_behalf_of" IS NOT NULL AND "perspective_user_id" IS NULL;
