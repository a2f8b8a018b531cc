-- +goose Up
-- Expand: what the storefront needs to find products. Products may be
-- featured on the home page, and carry a weighted full-text vector in the
-- shop's language (title and SKU/GTIN weigh most, then brand, then the
-- description), kept by a trigger so that every writer (back office, API,
-- marketplace publish) keeps it right. pg_trgm finds titles despite typos
-- and suggests as one types; it is a trusted extension, so the database's
-- owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The text search configuration for a shop language (shop_profile.language).
-- +goose StatementBegin
CREATE FUNCTION shop_search_config(lang text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE lang
        WHEN 'da' THEN 'danish'  WHEN 'de' THEN 'german'     WHEN 'en' THEN 'english'
        WHEN 'es' THEN 'spanish' WHEN 'fi' THEN 'finnish'    WHEN 'fr' THEN 'french'
        WHEN 'it' THEN 'italian' WHEN 'nl' THEN 'dutch'      WHEN 'no' THEN 'norwegian'
        WHEN 'pt' THEN 'portuguese' WHEN 'sv' THEN 'swedish'
        ELSE 'simple' END)::regconfig
$$;
-- +goose StatementEnd

-- The configuration of this shop, from its settings.
-- +goose StatementBegin
CREATE FUNCTION shop_search_config() RETURNS regconfig
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT shop_search_config(language) FROM shop_profile), 'simple'::regconfig)
$$;
-- +goose StatementEnd

ALTER TABLE products
    ADD COLUMN featured boolean NOT NULL DEFAULT false,
    ADD COLUMN search_vector tsvector;

-- +goose StatementBegin
CREATE FUNCTION products_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cfg regconfig := shop_search_config();
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector(cfg, NEW.title), 'A') ||
        setweight(to_tsvector('simple', NEW.sku || ' ' || coalesce(NEW.gtin, '')), 'A') ||
        setweight(to_tsvector(cfg, NEW.brand), 'B') ||
        setweight(to_tsvector(cfg, left(NEW.description, 20000)), 'C');
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- search_vector is in the list so that "UPDATE products SET search_vector
-- = NULL" rebuilds every vector, after the shop's language changed.
CREATE TRIGGER products_search_vector BEFORE INSERT OR UPDATE OF title, description, brand, sku, gtin, search_vector
    ON products FOR EACH ROW EXECUTE FUNCTION products_search_vector();

UPDATE products SET search_vector = NULL;

-- Only what shoppers can see is searched.
CREATE INDEX products_search_idx ON products USING gin (search_vector) WHERE state = 'active';
CREATE INDEX products_title_trgm_idx ON products USING gin (lower(title) gin_trgm_ops) WHERE state = 'active';
CREATE INDEX products_featured_idx ON products (created_at DESC, id DESC) WHERE state = 'active' AND featured;
-- The catalog: newest, by price, by brand.
CREATE INDEX products_active_price_idx ON products (price_minor, id) WHERE state = 'active';
CREATE INDEX products_active_brand_idx ON products (lower(brand), id) WHERE state = 'active' AND brand <> '';

-- +goose Down
DROP INDEX products_active_brand_idx, products_active_price_idx, products_featured_idx,
    products_title_trgm_idx, products_search_idx;
DROP TRIGGER products_search_vector ON products;
DROP FUNCTION products_search_vector();
ALTER TABLE products DROP COLUMN search_vector, DROP COLUMN featured;
DROP FUNCTION shop_search_config();
DROP FUNCTION shop_search_config(text);
