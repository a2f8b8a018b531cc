package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
)

// Category groups products; a product can be in several.
type Category struct {
	ID       int64
	Name     string
	Products int // how many products are in it
}

const categoriesSQL = `SELECT c.id, c.name, (SELECT count(*) FROM product_categories pc WHERE pc.category_id = c.id)
	FROM categories c ORDER BY lower(c.name), c.id`

// Categories lists every category by name, with product counts.
func Categories(ctx context.Context, db Querier) ([]Category, error) {
	rows, err := db.Query(ctx, categoriesSQL)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Category])
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return out, nil
}

func checkCategoryName(name string) (string, FieldErrors) {
	name = strings.Join(strings.Fields(name), " ")
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return name, FieldErrors{"name": "Enter a name."}
	case n > 100:
		return name, FieldErrors{"name": "Use at most 100 characters."}
	}
	return name, nil
}

func categoryWriteError(err error, name string) error {
	if database.IsUniqueViolation(err) {
		return FieldErrors{"name": fmt.Sprintf("There is a category called %q already.", name)}
	}
	return fmt.Errorf("save category %q: %w", name, err)
}

// CreateCategory adds a category; names are unique regardless of case.
func CreateCategory(ctx context.Context, db *pgxpool.Pool, name string, audit staff.Entry) (*Category, error) {
	name, errs := checkCategoryName(name)
	if errs != nil {
		return nil, errs
	}
	c := &Category{Name: name}
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO categories (name) VALUES ($1) RETURNING id`, name).Scan(&c.ID); err != nil {
			return categoryWriteError(err, name)
		}
		audit.Action, audit.TargetType, audit.TargetID, audit.After = "category.created", "category", fmt.Sprint(c.ID), map[string]string{"name": name}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RenameCategory changes a category's name.
func RenameCategory(ctx context.Context, db *pgxpool.Pool, id int64, name string, audit staff.Entry) error {
	name, errs := checkCategoryName(name)
	if errs != nil {
		return errs
	}
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		var old string
		err := tx.QueryRow(ctx, `SELECT name FROM categories WHERE id = $1 FOR UPDATE`, id).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("rename category %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE categories SET name = $2 WHERE id = $1`, id, name); err != nil {
			return categoryWriteError(err, name)
		}
		audit.Action, audit.TargetType, audit.TargetID = "category.renamed", "category", fmt.Sprint(id)
		audit.Before, audit.After = map[string]string{"name": old}, map[string]string{"name": name}
		return staff.Audit(ctx, tx, audit)
	})
}

// DeleteCategory removes a category; its products stay, outside it.
func DeleteCategory(ctx context.Context, db *pgxpool.Pool, id int64, audit staff.Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		var name string
		var n int
		err := tx.QueryRow(ctx, `DELETE FROM categories c WHERE id = $1
			RETURNING name, (SELECT count(*) FROM product_categories pc WHERE pc.category_id = c.id)`, id).Scan(&name, &n)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("delete category %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "category.deleted", "category", fmt.Sprint(id)
		audit.Before = map[string]any{"name": name, "products": n}
		return staff.Audit(ctx, tx, audit)
	})
}
