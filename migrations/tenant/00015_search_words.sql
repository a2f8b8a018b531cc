-- +goose Up
-- Expand: the shop's search vocabulary, so that a typo is corrected against
-- a few thousand words rather than by comparing the text with every title.
-- search_words holds the distinct words (lower case, letters only, 3 to 32
-- long, as the 'simple' parser splits them) of the titles and brands of
-- active products. Triggers add the words of new and changed active
-- products; nothing counts or deletes (a counter per word would make every
-- product write contend on common words): a word whose last product went
-- away stays, which costs a row and at worst a correction that finds
-- nothing. The table has no unique constraint for the same reason (two
-- writers adding one new word at once never wait for each other); a rare
-- duplicate is harmless. Only new objects, so the release before this one
-- keeps working against it.
CREATE TABLE search_words (word text NOT NULL);
CREATE INDEX search_words_word_idx ON search_words (word);
-- Nearest words first (word <-> text), for corrections.
CREATE INDEX search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops);

-- The vocabulary words of a title and a brand.
-- +goose StatementBegin
CREATE FUNCTION search_words_of(title text, brand text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT w FROM unnest(tsvector_to_array(to_tsvector('simple', title || ' ' || brand))) AS w
    WHERE w ~ '^[[:alpha:]]{3,32}$'
$$;
-- +goose StatementEnd

-- Inserts: once per statement, so that a bulk insert (an import) adds
-- each new word once.
-- +goose StatementBegin
CREATE FUNCTION products_search_words_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w.w FROM new_products n, search_words_of(n.title, n.brand) AS w(w)
    WHERE n.state = 'active' AND NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w.w);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER products_search_words_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_products FOR EACH STATEMENT EXECUTE FUNCTION products_search_words_insert();

-- Updates: only rows that are active and changed title, brand or state
-- (stock and price updates never get here).
-- +goose StatementBegin
CREATE FUNCTION products_search_words_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT w.w FROM search_words_of(NEW.title, NEW.brand) AS w(w)
    WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w.w);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER products_search_words_update AFTER UPDATE OF title, brand, state ON products
    FOR EACH ROW WHEN (NEW.state = 'active' AND (OLD.title, OLD.brand, OLD.state) IS DISTINCT FROM (NEW.title, NEW.brand, NEW.state))
    EXECUTE FUNCTION products_search_words_update();

INSERT INTO search_words (word)
SELECT DISTINCT w.w FROM products p, search_words_of(p.title, p.brand) AS w(w) WHERE p.state = 'active';
ANALYZE search_words;

-- search_correct is the text with each word the vocabulary does not know
-- replaced by the vocabulary word it most likely meant: the word with two
-- neighbouring letters swapped ("chiar": chair), else the nearest word by
-- trigrams if it is similar enough (pg_trgm similarity >= 0.3: "runing":
-- running, "shoos": shoes). Words of fewer than 3 letters, with digits,
-- excluded with a minus, or that the shop's language ignores (stop words)
-- stay as they are; so does websearch syntax around the words. NULL when
-- nothing was replaced. The storefront's search calls it only when the
-- text itself finds (almost) nothing.
-- +goose StatementBegin
CREATE FUNCTION search_correct(cfg regconfig, q text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fixed text;
BEGIN
    SELECT CASE WHEN count(f.word) > 0 THEN string_agg(t.sep || coalesce(f.word, t.tok), '' ORDER BY t.n) END INTO fixed
    FROM (SELECT t.n, t.m[1] AS sep, t.m[2] AS tok
        FROM regexp_matches(lower(q), '([^[:alnum:]]*)([[:alnum:]]*)', 'g') WITH ORDINALITY AS t(m, n)) t
    LEFT JOIN LATERAL (
        SELECT x.word FROM (
            (SELECT k.word, 0 AS pri, 1::real AS sim FROM search_words k
            WHERE k.word IN (SELECT overlay(t.tok PLACING substr(t.tok, i + 1, 1) || substr(t.tok, i, 1) FROM i FOR 2)
                FROM generate_series(1, length(t.tok) - 1) AS i)
            LIMIT 1)
            UNION ALL
            (SELECT k.word, 1, similarity(k.word, t.tok) FROM search_words k ORDER BY k.word <-> t.tok LIMIT 1)) x
        WHERE t.tok ~ '^[[:alpha:]]{3,32}$' AND right(t.sep, 1) <> '-'
            AND NOT EXISTS (SELECT 1 FROM search_words k WHERE k.word = t.tok)
            AND to_tsvector(cfg, t.tok) <> ''::tsvector
            AND (x.pri = 0 OR x.sim >= 0.3)
        ORDER BY x.pri LIMIT 1) f ON true;
    RETURN fixed;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION search_correct(regconfig, text);
DROP TRIGGER products_search_words_update ON products;
DROP TRIGGER products_search_words_insert ON products;
DROP FUNCTION products_search_words_update();
DROP FUNCTION products_search_words_insert();
DROP FUNCTION search_words_of(text, text);
DROP TABLE search_words;
