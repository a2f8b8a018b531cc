-- +goose NO TRANSACTION
-- +goose Up
-- Expand: indexes for the storefront's catalog, so that every list the
-- shopper sees is an index walk that stops after one page:
-- - the price shoppers pay (the sale price when there is one), both ways;
-- - the title, in the database's collation, for sorting by name;
-- - the title in byte order ("C"), for prefix look-ups as one types in the
--   search box (LIKE 'abc%' uses a b-tree only in the C collation);
-- - the handle derived from the SKU (as migration 00002 derives it), so
--   that /products/<sku-handle> finds products without a handle of their
--   own and old links keep working after a handle changed.
-- Built CONCURRENTLY so that shops keep selling while they build; that
-- cannot run in a transaction, hence NO TRANSACTION, and each DROP first
-- makes a re-run after a failed build start clean.
DROP INDEX CONCURRENTLY IF EXISTS products_active_sale_price_idx;
CREATE INDEX CONCURRENTLY products_active_sale_price_idx ON products ((coalesce(sale_price_minor, price_minor)), id)
    WHERE state = 'active';
DROP INDEX CONCURRENTLY IF EXISTS products_active_title_idx;
CREATE INDEX CONCURRENTLY products_active_title_idx ON products (lower(title), id) WHERE state = 'active';
DROP INDEX CONCURRENTLY IF EXISTS products_active_title_prefix_idx;
CREATE INDEX CONCURRENTLY products_active_title_prefix_idx ON products ((lower(title)) COLLATE "C", id)
    WHERE state = 'active';
DROP INDEX CONCURRENTLY IF EXISTS products_sku_handle_idx;
CREATE INDEX CONCURRENTLY products_sku_handle_idx
    ON products ((trim(both '-' from regexp_replace(lower(sku), '[^a-z0-9]+', '-', 'g'))));

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS products_sku_handle_idx;
DROP INDEX CONCURRENTLY IF EXISTS products_active_title_prefix_idx;
DROP INDEX CONCURRENTLY IF EXISTS products_active_title_idx;
DROP INDEX CONCURRENTLY IF EXISTS products_active_sale_price_idx;
