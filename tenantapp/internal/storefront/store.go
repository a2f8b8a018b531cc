package storefront

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/sku"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// catalogSchema is the first vendor schema the catalog, product and
// search pages work with (featured products and search vectors,
// migration 00012); a vendor not there yet keeps its home page and gets a
// maintenance answer on the rest.
const catalogSchema = 12

// Card is a product in a list: what a product card and the API's product
// summary show.
type Card struct {
	ID     int64
	SKU    string
	Handle string // the product's handle, or the one derived from its SKU
	URL    string
	Title  string
	Brand  string
	// PriceMinor is what the shopper pays: the sale price if there is one;
	// RegularMinor is then the regular price (shown struck through).
	PriceMinor   int64
	RegularMinor *int64
	Currency     string
	Price        string // PriceMinor, formatted
	RegularPrice string // RegularMinor, formatted; "" when not on sale
	Available    int64  // on hand minus reserved
	// Stock is StockState(), and StockText says it in words ("In stock",
	// "Only 3 left", "Out of stock"): fields, so that pages show them
	// without calling methods.
	Stock, StockText string
	Image            *cardImage
}

// cardImage is the picture on a product card, in two sizes.
type cardImage struct {
	MediaID           int64
	Small, Large, Alt string
}

// Stock states of a product.
const (
	StockIn  = "in_stock"
	StockLow = "low_stock"
	StockOut = "out_of_stock"
)

// StockState is in_stock, low_stock (LowStock or fewer left) or
// out_of_stock.
func (c *Card) StockState() string {
	switch {
	case c.Available <= 0:
		return StockOut
	case c.Available <= LowStock:
		return StockLow
	}
	return StockIn
}

// InStock reports whether the product can be bought.
func (c *Card) InStock() bool { return c.Available > 0 }

// OnSale reports whether a sale price applies.
func (c *Card) OnSale() bool { return c.RegularMinor != nil }

// newCard fills a card's derived fields.
func newCard(t *tenant.Tenant, c Card, mediaID *int64, alt string) Card {
	if c.Handle == "" {
		c.Handle = sku.HandleBase(c.SKU)
	}
	c.URL = t.Base + "/products/" + c.Handle
	c.Price = money.Format(c.PriceMinor, c.Currency)
	if c.RegularMinor != nil {
		c.RegularPrice = money.Format(*c.RegularMinor, c.Currency)
	}
	c.Stock = c.StockState()
	switch c.Stock {
	case StockIn:
		c.StockText = "In stock"
	case StockLow:
		c.StockText = "Only " + strconv.FormatInt(c.Available, 10) + " left"
	default:
		c.StockText = "Out of stock"
	}
	if mediaID != nil {
		c.Image = &cardImage{MediaID: *mediaID, Small: media.URL(t.Base, *mediaID, "200"), Large: media.URL(t.Base, *mediaID, "800"), Alt: alt}
	}
	return c
}

// scanCards reads rows of cardColumns, and extra columns after them, into
// cards; each, if set, is called after every row (the extra columns are
// then read).
func scanCards(t *tenant.Tenant, rows pgx.Rows, each func(Card), extra ...any) ([]Card, error) {
	var cards []Card
	var c Card
	var price int64
	var sale, mediaID *int64
	var alt string
	dest := append([]any{&c.ID, &c.SKU, &c.Handle, &c.Title, &c.Brand, &price, &sale, &c.Currency, &c.Available, &mediaID, &alt}, extra...)
	_, err := pgx.ForEachRow(rows, dest, func() error {
		card := c
		card.PriceMinor = price
		if sale != nil {
			card.PriceMinor = *sale
			regular := price
			card.RegularMinor = &regular
		}
		card = newCard(t, card, mediaID, alt)
		if each != nil {
			each(card)
		} else {
			cards = append(cards, card)
		}
		return nil
	})
	return cards, err
}

// Category is a category of the shop.
type Category struct {
	ID   int64
	Name string
	URL  string
}

// Brand is a brand of the shop's active products.
type Brand struct{ Name string }

// maxBrands bounds the brand list of the catalog's filters.
const maxBrands = 100

// categoriesSQL lists the categories that have an active product, and
// the one asked for ($1, 0 for none), by name.
const categoriesSQL = `SELECT c.id, c.name FROM categories c
	WHERE c.id = $1 OR EXISTS (SELECT 1 FROM product_categories pc JOIN products p ON p.id = pc.product_id
		WHERE pc.category_id = c.id AND p.state = 'active')
	ORDER BY lower(c.name), c.id LIMIT 500`

// brandsSQL lists the brands of active products, one per spelling
// ignoring case, by walking the brand index from one brand to the next
// (a loose index scan) rather than reading every product.
var brandsSQL = `WITH RECURSIVE b(lb, name) AS (
		(SELECT lower(brand), brand FROM products WHERE state = 'active' AND brand <> '' ORDER BY lower(brand), id LIMIT 1)
		UNION ALL
		SELECT n.lb, n.name FROM b, LATERAL (SELECT lower(p.brand) AS lb, p.brand AS name FROM products p
			WHERE p.state = 'active' AND p.brand <> '' AND lower(p.brand) > b.lb ORDER BY lower(p.brand), p.id LIMIT 1) n
	) SELECT name FROM b LIMIT ` + strconv.Itoa(maxBrands)

func queueCategories(b *pgx.Batch, t *tenant.Tenant, selected int64, out *[]Category) {
	b.Queue(categoriesSQL, selected).Query(func(rows pgx.Rows) error {
		var c Category
		_, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Name}, func() error {
			c.URL = t.Base + "/categories/" + strconv.FormatInt(c.ID, 10)
			*out = append(*out, c)
			return nil
		})
		if err != nil {
			return fmt.Errorf("list categories: %w", err)
		}
		return nil
	})
}

func queueBrands(b *pgx.Batch, out *[]Brand) {
	b.Queue(brandsSQL).Query(func(rows pgx.Rows) error {
		var name string
		_, err := pgx.ForEachRow(rows, []any{&name}, func() error {
			*out = append(*out, Brand{Name: name})
			return nil
		})
		if err != nil {
			return fmt.Errorf("list brands: %w", err)
		}
		return nil
	})
}

// queueSettings reads the shop's settings in a batch (schema 9 on).
func queueSettings(b *pgx.Batch, s *Settings) {
	*s = DefaultSettings()
	b.Queue(`SELECT ` + settingsColumns + ` FROM shop_profile`).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			if err := rows.Scan(&s.DisplayName, &s.LogoMediaID, &s.AccentColor, &s.AccentInkColor, &s.BackgroundColor,
				&s.TextColor, &s.Font, &s.Currency, &s.Language, &s.ContactEmail, &s.ContactPhone, &s.ContactAddress,
				&s.Imprint, &s.Terms, &s.Privacy, &s.UpdatedAt); err != nil {
				return fmt.Errorf("load shop settings: %w", err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load shop settings: %w", err)
		}
		return nil
	})
}

// queueCards queues a query of card rows.
func queueCards(b *pgx.Batch, t *tenant.Tenant, what string, out *[]Card, sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		cards, err := scanCards(t, rows, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		*out = cards
		return nil
	})
}

// sendBatch runs a batch in one round trip.
func sendBatch(ctx context.Context, t *tenant.Tenant, b *pgx.Batch) error {
	if err := t.Pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("read the catalog of %s: %w", t.Entry.Slug, err)
	}
	return nil
}

// Product is one product in full, for its page.
type Product struct {
	Card
	Description string
	GTIN        string
	Images      []ProductImage
	Categories  []Category
}

// ProductImage is one of a product's pictures.
type ProductImage struct {
	MediaID           int64
	Small, Large, Alt string
}

// handleExpr derives a handle from the SKU, as migration 00002 did and
// sku.HandleBase does (SKUs are ASCII and at most 64 long); indexed by
// products_sku_handle_idx.
const handleExpr = `trim(both '-' from regexp_replace(lower(p.sku), '[^a-z0-9]+', '-', 'g'))`

// ProductSQL finds an active product by its handle or, failing that, by
// the handle its SKU gives, with its images and categories, in one
// statement.
const ProductSQL = `SELECT ` + cardColumns + `, p.description, coalesce(p.gtin, ''),
		coalesce((SELECT json_agg(json_build_object('id', pm.media_id, 'alt', m.alt_text) ORDER BY pm.position, pm.media_id)
			FROM product_media pm JOIN media m ON m.id = pm.media_id WHERE pm.product_id = p.id), '[]'),
		coalesce((SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY lower(c.name), c.id)
			FROM product_categories pc JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id), '[]')
	FROM products p
	LEFT JOIN LATERAL (SELECT NULL::bigint AS media_id, NULL::text AS alt_text) img ON true
	WHERE p.state = 'active' AND (p.handle = $1 OR ` + handleExpr + ` = $1)
	ORDER BY p.handle = $1 DESC NULLS LAST, p.id LIMIT 1`

// ErrNoProduct is returned for a handle no active product has.
var ErrNoProduct = errors.New("no such product")

// queueProduct queues the look-up of a product by handle; *out stays nil
// if there is none.
func queueProduct(b *pgx.Batch, t *tenant.Tenant, handle string, out **Product) {
	b.Queue(ProductSQL, handle).Query(func(rows pgx.Rows) error {
		var p Product
		var images []struct {
			ID  int64  `json:"id"`
			Alt string `json:"alt"`
		}
		var cats []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		cards, err := scanCards(t, rows, nil, &p.Description, &p.GTIN, &images, &cats)
		if err != nil {
			return fmt.Errorf("find product %q: %w", handle, err)
		}
		if len(cards) == 0 {
			return nil
		}
		p.Card = cards[0]
		for _, im := range images {
			p.Images = append(p.Images, ProductImage{MediaID: im.ID, Small: media.URL(t.Base, im.ID, "200"),
				Large: media.URL(t.Base, im.ID, "800"), Alt: im.Alt})
		}
		if len(p.Images) > 0 {
			p.Image = &cardImage{MediaID: p.Images[0].MediaID, Small: p.Images[0].Small, Large: p.Images[0].Large, Alt: p.Images[0].Alt}
		}
		for _, c := range cats {
			p.Categories = append(p.Categories, Category{ID: c.ID, Name: c.Name, URL: t.Base + "/categories/" + strconv.FormatInt(c.ID, 10)})
		}
		*out = &p
		return nil
	})
}

// homeSQL are the home page's lists: featured products, and the newest.
const (
	featuredSQL = `SELECT ` + cardColumns + ` FROM (SELECT * FROM products p WHERE p.state = 'active' AND p.featured
		ORDER BY p.created_at DESC, p.id DESC LIMIT 8) p ` + firstImageJoin + ` ORDER BY p.created_at DESC, p.id DESC`
	newestSQL = `SELECT ` + cardColumns + ` FROM (SELECT * FROM products p WHERE p.state = 'active'
		ORDER BY p.created_at DESC, p.id DESC LIMIT 12) p ` + firstImageJoin + ` ORDER BY p.created_at DESC, p.id DESC`
)

// HitsSQL is what a search finds, in one statement ($1 the text): the ids
// of the matches, best first, and of the products found by the text with
// its typos corrected (grp 0 and 1):
//   - the text is read with websearch_to_tsquery in the shop's language
//     (shop_profile.language; shop_search_config is inlined, so this costs
//     no function call);
//   - the matches are the first maxRanked active products whose
//     search_vector matches (the GIN index products_search_idx, stopping
//     after maxRanked rows), ranked with ts_rank (weights A title, SKU and
//     GTIN; B brand; C description; divided by the log of the length, so a
//     short title that is all about the words comes first). A broad text
//     thus ranks a bounded sample of its matches: ranking reads every
//     candidate, and such a text is too broad for its order to mean much
//     (shoppers narrow it);
//   - when fewer than fewHits products match, the text with its typos
//     corrected against the shop's vocabulary (search_correct, migration
//     00015: a few thousand words, not every title) is searched the same
//     way, for the "Perhaps you meant" list (at most PageSize).
//
// The statement has no planner-dependent parts that change with the text,
// so that its generic plan is kept (no planning per search). The pages of
// a search are then read by id (CardsByIDSQL), and the ids are kept in the
// storefront's cache (see runSearch).
var HitsSQL = `WITH q AS MATERIALIZED (
		SELECT c.cfg, websearch_to_tsquery(c.cfg, $1) AS q
		FROM (SELECT coalesce((SELECT shop_search_config(s.language) FROM shop_profile s), 'simple') AS cfg) c),
	fts AS MATERIALIZED (
		SELECT p.id, ts_rank(p.search_vector, (SELECT q FROM q), 1) AS score
		FROM products p WHERE p.state = 'active' AND p.search_vector @@ (SELECT q FROM q)
		LIMIT ` + strconv.Itoa(maxRanked) + `),
	fq AS MATERIALIZED (
		SELECT websearch_to_tsquery(q.cfg, search_correct(q.cfg, $1)) AS q FROM q
		WHERE (SELECT count(*) FROM fts) < ` + strconv.Itoa(fewHits) + `),
	fuzzy AS MATERIALIZED (
		SELECT f.id, f.score FROM (
			SELECT p.id, ts_rank(p.search_vector, (SELECT q FROM fq), 1) AS score
			FROM products p WHERE p.state = 'active' AND p.search_vector @@ (SELECT q FROM fq)
			LIMIT ` + strconv.Itoa(maxRanked) + `) f
		WHERE f.id NOT IN (SELECT id FROM fts)
		ORDER BY f.score DESC, f.id DESC LIMIT ` + strconv.Itoa(PageSize) + `)
	SELECT h.id, h.grp FROM (SELECT 0 AS grp, * FROM fts UNION ALL SELECT 1, * FROM fuzzy) h
	ORDER BY h.grp, h.score DESC, h.id DESC`

// CardsByIDSQL reads the cards of the products whose ids are in $1, in
// that order, skipping those no longer on sale: a page of search results
// shows today's prices and stock whatever the cache kept.
var CardsByIDSQL = `SELECT ` + cardColumns + ` FROM (
		SELECT p.*, h.n FROM unnest($1::bigint[]) WITH ORDINALITY AS h(id, n) JOIN products p ON p.id = h.id
		WHERE p.state = 'active') p ` + firstImageJoin + `
	ORDER BY p.n`

// searchWordsSchema is the first vendor schema with the search vocabulary
// (migration 00015); older ones are searched with legacySearchSQL.
const searchWordsSchema = 15

// legacySearchSQL is the search before the vocabulary (schema 12 to 14), a
// page of cards in one statement ($2 the page size plus one, $3 the offset):
// look-alike titles by pg_trgm word similarity (see queueTrigramLimits).
var legacySearchSQL = `WITH q AS MATERIALIZED (SELECT websearch_to_tsquery(shop_search_config(), $1) AS q),
	fts AS MATERIALIZED (
		SELECT m.id, ts_rank_cd(m.search_vector, (SELECT q FROM q), 1) AS score
		FROM (SELECT p.id, p.search_vector FROM products p
			WHERE p.state = 'active' AND p.search_vector @@ (SELECT q FROM q) LIMIT ` + strconv.Itoa(maxRanked) + `) m
		ORDER BY score DESC, m.id DESC LIMIT $2 OFFSET $3),
	fuzzy AS MATERIALIZED (
		SELECT id, score FROM (SELECT p.id, word_similarity(lower($1), lower(p.title)) + similarity(lower(p.title), lower($1)) AS score
		FROM products p
		WHERE $3 = 0 AND (SELECT count(*) FROM fts) < ` + strconv.Itoa(fewHits) + ` AND p.state = 'active'
			AND lower(p.title) %> lower($1)
			AND p.id NOT IN (SELECT id FROM fts)
		LIMIT 500) c
		ORDER BY score DESC, id DESC LIMIT $2 - 1),
	hits AS (SELECT id, 0 AS grp, score FROM fts UNION ALL SELECT id, 1, score FROM fuzzy)
	SELECT ` + cardColumns + `, h.grp FROM hits h JOIN products p ON p.id = h.id ` + firstImageJoin + `
	ORDER BY h.grp, h.score DESC, p.id DESC`

// maxRanked bounds the matches a search ranks (see SearchSQL), and so the
// pages a search has (maxRanked / PageSize).
const maxRanked = 200

// SearchResult is a page of search results.
type SearchResult struct {
	Matches []Card // full-text matches, best first
	// Similar are titles that look like the query, shown when there are
	// few matches (the query may have a typo).
	Similar []Card
	HasMore bool
}

// WordSimilarity is the pg_trgm word similarity from which a title counts
// as looking like what was typed: 0.45 lets one wrong letter through in a
// short word ("lether" finds leather), where pg_trgm's default of 0.6 does
// not.
const WordSimilarity = "0.45"

// queueTrigramLimits sets pg_trgm's thresholds for the rest of the batch:
// a batch is one implicit transaction (one Sync), so the settings end
// with it and never reach the connection's next user.
func queueTrigramLimits(b *pgx.Batch) {
	b.Queue(`SELECT set_config('pg_trgm.word_similarity_threshold', $1, true),
		set_config('pg_trgm.similarity_threshold', '0.3', true)`, WordSimilarity)
}

// Suggestion is a title suggested as one types.
type Suggestion struct {
	Title  string `json:"title"`
	Handle string `json:"handle"`
	URL    string `json:"url"`
}

// suggestSQL suggests titles for what has been typed ($1): titles that
// start with it first (a walk of products_active_title_prefix_idx), then
// titles with it inside or with a word like it (pg_trgm), best first, at
// most maxSuggestions in all. The look-alikes are picked from the first
// 200 candidates, so that a query every title matches stays cheap.
const suggestSQL = `WITH pre AS MATERIALIZED (
		SELECT p.id, p.title, p.handle, p.sku FROM products p
		WHERE p.state = 'active' AND lower(p.title) COLLATE "C" LIKE $2
		ORDER BY lower(p.title) COLLATE "C", p.id LIMIT $4),
	near AS MATERIALIZED (
		SELECT c.id, c.title, c.handle, c.sku, c.score FROM (
			SELECT p.id, p.title, p.handle, p.sku, word_similarity(lower($1), lower(p.title)) AS score FROM products p
			WHERE (SELECT count(*) FROM pre) < $4 AND p.state = 'active'
				AND (lower(p.title) LIKE $3 OR lower(p.title) %> lower($1))
				AND p.id NOT IN (SELECT id FROM pre)
			LIMIT 200) c
		ORDER BY c.score DESC, lower(c.title), c.id LIMIT $4)
	SELECT title, coalesce(handle, ''), sku FROM (
		SELECT 0 AS grp, 1::real AS score, * FROM (SELECT id, title, handle, sku FROM pre) x
		UNION ALL SELECT 1, score, id, title, handle, sku FROM near) s
	ORDER BY grp, score DESC, lower(title), id LIMIT $4`

// likeEscape escapes LIKE's wildcards (the escape character is \).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// queueSuggest queues the suggestions for q (already checked).
func queueSuggest(b *pgx.Batch, t *tenant.Tenant, q string, out *[]Suggestion) {
	*out = []Suggestion{}
	lq := likeEscape(strings.ToLower(q))
	queueTrigramLimits(b)
	b.Queue(suggestSQL, q, lq+"%", "%"+lq+"%", maxSuggestions).Query(func(rows pgx.Rows) error {
		var s Suggestion
		var code string
		_, err := pgx.ForEachRow(rows, []any{&s.Title, &s.Handle, &code}, func() error {
			if s.Handle == "" {
				s.Handle = sku.HandleBase(code)
			}
			s.URL = t.Base + "/products/" + s.Handle
			*out = append(*out, s)
			return nil
		})
		if err != nil {
			return fmt.Errorf("suggest titles for %q: %w", q, err)
		}
		return nil
	})
}
