-- +goose NO TRANSACTION
-- +goose Up
-- Expand: the back office's sales figures read orders by when they were
-- paid, and the cart finds the order of its own that waits for payment.
-- Built CONCURRENTLY so that shops keep selling while it builds; the
-- DROP first makes a re-run after a failed build start clean.
DROP INDEX CONCURRENTLY IF EXISTS orders_paid_idx;
CREATE INDEX CONCURRENTLY orders_paid_idx ON orders (paid_at) WHERE paid_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS orders_cart_pending_idx;
CREATE INDEX CONCURRENTLY orders_cart_pending_idx ON orders (cart_id) WHERE status = 'pending';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS orders_cart_pending_idx;
DROP INDEX CONCURRENTLY IF EXISTS orders_paid_idx;
