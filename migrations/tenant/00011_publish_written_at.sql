-- +goose Up
-- Expand: when each item of a publish was written, so that undo can tell
-- a product the vendor changed after its chunk was written from one the
-- publish itself wrote, even while a stalled publish was still running.
-- Items written before this column existed fall back to the publish's end.
ALTER TABLE publish_items ADD COLUMN written_at timestamptz;

-- +goose Down
ALTER TABLE publish_items DROP COLUMN written_at;
