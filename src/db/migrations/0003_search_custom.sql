-- Full-text search over message content (src/search): a generated tsvector and its GIN index.
-- English stemming; tombstones have content '' and so an empty vector.
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "search_tsv" tsvector
  GENERATED ALWAYS AS (to_tsvector('english'::regconfig, "content")) STORED;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_search_tsv" ON "messages" USING gin ("search_tsv");
