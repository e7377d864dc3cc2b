CREATE TABLE "human_requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"addressed_to" uuid NOT NULL,
	"message_id" uuid,
	"tool_call_id" text,
	"tool_name" text,
	"tool_ref" text,
	"args" jsonb,
	"args_hash" text,
	"question" text,
	"answer" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"answered_by" uuid,
	"answered_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "memories" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"content" text NOT NULL,
	"source_message_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "budgets" jsonb;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "tool_approvals" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "resume_state" jsonb;--> statement-breakpoint
ALTER TABLE "human_requests" ADD CONSTRAINT "human_requests_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memories" ADD CONSTRAINT "memories_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "human_requests_run" ON "human_requests" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "human_requests_pending_expiry" ON "human_requests" USING btree ("status","expires_at");--> statement-breakpoint
CREATE INDEX "memories_agent_user" ON "memories" USING btree ("agent_id","user_id","created_at");