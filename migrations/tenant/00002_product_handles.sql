-- +goose Up
-- Expand: products get a URL handle. The column is nullable and filled
-- here, so the release before this one (which does not know the column)
-- keeps inserting products; the release that uses handles fills them in
-- itself. A later migration (the contract step) makes it NOT NULL once no
-- running release writes products without one.
ALTER TABLE products ADD COLUMN handle text CHECK (handle ~ '^[a-z0-9][a-z0-9-]*$' AND length(handle) <= 120);
UPDATE products
SET handle = trim(both '-' from regexp_replace(lower(sku), '[^a-z0-9]+', '-', 'g'))
WHERE handle IS NULL;

-- +goose Down
ALTER TABLE products DROP COLUMN handle;
