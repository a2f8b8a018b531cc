package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/tenantapp/internal/shopper"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Address is a postal address of a customer's address book. Its JSON
// form is also the shape orders keep their shipping and billing address
// in (orders.shipping_address), which the order history reads.
type Address struct {
	ID         int64  `json:"id,omitempty"`
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Region     string `json:"region"`
	Country    string `json:"country"` // ISO 3166-1 alpha-2, upper case
	Phone      string `json:"phone"`
	IsDefault  bool   `json:"is_default,omitempty"`
}

// Lines is the address as it is written on an envelope.
func (a *Address) Lines() []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	add(a.Name)
	add(a.Line1)
	add(a.Line2)
	add(strings.TrimSpace(a.PostalCode + " " + a.City))
	add(a.Region)
	if a.Country != "" {
		add(CountryName(a.Country))
	}
	return out
}

// MaxAddresses is how many addresses a customer's book holds.
const MaxAddresses = 50

// addressFields are the address's fields in form order, with their
// limits in characters (the schema's CHECKs) and whether they are needed.
var addressFields = []struct {
	name     string
	max      int
	required bool
	label    string
}{
	{"name", 200, true, "the name on the address"},
	{"line1", 200, true, "the street and number"},
	{"line2", 200, false, ""},
	{"postal_code", 20, true, "the postal code"},
	{"city", 100, true, "the town or city"},
	{"region", 100, false, ""},
	{"country", 2, true, "the country"},
	{"phone", 40, false, ""},
}

func (a *Address) field(name string) *string {
	switch name {
	case "name":
		return &a.Name
	case "line1":
		return &a.Line1
	case "line2":
		return &a.Line2
	case "postal_code":
		return &a.PostalCode
	case "city":
		return &a.City
	case "region":
		return &a.Region
	case "country":
		return &a.Country
	case "phone":
		return &a.Phone
	}
	return nil
}

// Check trims an address and says what is wrong with it, if anything.
func (a *Address) Check() problems {
	var errs problems
	for _, f := range addressFields {
		p := a.field(f.name)
		v, ok := cleanText(*p, 1<<20)
		*p = v
		switch {
		case f.name == "country":
			*p = strings.ToUpper(v)
			if !IsCountry(*p) {
				errs.add("country", "Choose the country from the list.")
			}
		case !ok:
			errs.add(f.name, "Use one line of text without control characters.")
		case f.required && v == "":
			errs.add(f.name, "Enter "+f.label+".")
		case len([]rune(v)) > f.max:
			errs.add(f.name, fmt.Sprintf("Use at most %d characters.", f.max))
		}
	}
	return errs
}

const addressColumns = `id, name, line1, line2, postal_code, city, region, country, phone, is_default`

func scanAddress(row pgx.Row) (*Address, error) {
	var a Address
	err := row.Scan(&a.ID, &a.Name, &a.Line1, &a.Line2, &a.PostalCode, &a.City, &a.Region, &a.Country, &a.Phone, &a.IsDefault)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return &a, err
}

// DefaultAddress returns a customer's default address, or nil if they
// have none. db is the shop's pool (tenant.FromContext(ctx).Pool) or a
// transaction on it.
func DefaultAddress(ctx context.Context, db Querier, customerID int64) (*Address, error) {
	a, err := scanAddress(db.QueryRow(ctx, `SELECT `+addressColumns+` FROM customer_addresses
		WHERE customer_id = $1 AND is_default`, customerID))
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the default address of customer %d: %w", customerID, err)
	}
	return a, nil
}

// Prefill is what checkout can fill in for a signed-in customer.
type Prefill struct {
	CustomerID int64    `json:"customer_id"`
	Email      string   `json:"email"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone"`
	Address    *Address `json:"address"` // the default address; nil if none
}

// SignedIn returns the signed-in customer of the request with their
// default address, or nil when the shopper is anonymous. Call it behind
// shopper.Sessions.Middleware.
func SignedIn(ctx context.Context, s *shopper.Sessions) (*Prefill, error) {
	ref, err := s.Customer(ctx)
	if err != nil || ref == nil {
		return nil, err
	}
	t := tenant.FromContext(ctx)
	c, err := customerByID(ctx, t.Pool, ref.ID)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := DefaultAddress(ctx, t.Pool, c.ID)
	if err != nil {
		return nil, err
	}
	return &Prefill{CustomerID: c.ID, Email: c.Email, Name: c.Name, Phone: c.Phone, Address: a}, nil
}

// listAddresses is a customer's address book, the default first.
func listAddresses(ctx context.Context, db *pgxpool.Pool, customerID int64) ([]Address, error) {
	rows, err := db.Query(ctx, `SELECT `+addressColumns+` FROM customer_addresses WHERE customer_id = $1
		ORDER BY is_default DESC, id`, customerID)
	if err != nil {
		return nil, fmt.Errorf("list addresses of customer %d: %w", customerID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Address, error) {
		a, err := scanAddress(row)
		if err != nil {
			return Address{}, err
		}
		return *a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list addresses of customer %d: %w", customerID, err)
	}
	return out, nil
}

// getAddress loads one address of a customer; errNotFound if the id is
// not one of theirs.
func getAddress(ctx context.Context, db Querier, customerID, id int64) (*Address, error) {
	a, err := scanAddress(db.QueryRow(ctx, `SELECT `+addressColumns+` FROM customer_addresses
		WHERE id = $1 AND customer_id = $2`, id, customerID))
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("load address %d: %w", id, err)
	}
	return a, err
}

var errTooManyAddresses = fmt.Errorf("an address book holds at most %d addresses", MaxAddresses)

// lockCustomer serializes changes to one customer's address book.
func lockCustomer(ctx context.Context, tx pgx.Tx, customerID int64) error {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE id = $1 FOR UPDATE`, customerID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("lock customer %d: %w", customerID, err)
	}
	return nil
}

// saveAddress adds an address (a.ID 0) or changes one of the customer's;
// the first address becomes the default, and a.IsDefault makes it so.
// errNotFound if a.ID is not one of the customer's.
func saveAddress(ctx context.Context, db database.Beginner, customerID int64, a *Address) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, customerID); err != nil {
			return err
		}
		var count int
		var hasDefault bool
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(is_default), false) FROM customer_addresses WHERE customer_id = $1`,
			customerID).Scan(&count, &hasDefault); err != nil {
			return fmt.Errorf("count addresses of customer %d: %w", customerID, err)
		}
		if a.ID == 0 && count >= MaxAddresses {
			return errTooManyAddresses
		}
		if !hasDefault {
			a.IsDefault = true
		}
		if a.IsDefault {
			if _, err := tx.Exec(ctx, `UPDATE customer_addresses SET is_default = false WHERE customer_id = $1 AND is_default AND id <> $2`,
				customerID, a.ID); err != nil {
				return fmt.Errorf("unset the default address of customer %d: %w", customerID, err)
			}
		}
		if a.ID == 0 {
			err := tx.QueryRow(ctx, `INSERT INTO customer_addresses (customer_id, name, line1, line2, postal_code, city, region, country, phone, is_default)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
				customerID, a.Name, a.Line1, a.Line2, a.PostalCode, a.City, a.Region, a.Country, a.Phone, a.IsDefault).Scan(&a.ID)
			if err != nil {
				return fmt.Errorf("add an address for customer %d: %w", customerID, err)
			}
			return nil
		}
		// Unsetting the default only happens by making another one the default.
		tag, err := tx.Exec(ctx, `UPDATE customer_addresses SET name = $3, line1 = $4, line2 = $5, postal_code = $6, city = $7,
			region = $8, country = $9, phone = $10, is_default = is_default OR $11
			WHERE id = $1 AND customer_id = $2`,
			a.ID, customerID, a.Name, a.Line1, a.Line2, a.PostalCode, a.City, a.Region, a.Country, a.Phone, a.IsDefault)
		if err != nil {
			return fmt.Errorf("change address %d: %w", a.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return errNotFound
		}
		return tx.QueryRow(ctx, `SELECT is_default FROM customer_addresses WHERE id = $1`, a.ID).Scan(&a.IsDefault)
	})
}

// makeDefault makes one of the customer's addresses the default.
func makeDefault(ctx context.Context, db database.Beginner, customerID, id int64) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, customerID); err != nil {
			return err
		}
		if _, err := getAddress(ctx, tx, customerID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE customer_addresses SET is_default = false WHERE customer_id = $1 AND is_default AND id <> $2`,
			customerID, id); err != nil {
			return fmt.Errorf("unset the default address of customer %d: %w", customerID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE customer_addresses SET is_default = true WHERE id = $1 AND customer_id = $2`, id, customerID); err != nil {
			return fmt.Errorf("make address %d the default: %w", id, err)
		}
		return nil
	})
}

// deleteAddress removes one of the customer's addresses; if it was the
// default, the newest remaining one becomes the default.
func deleteAddress(ctx context.Context, db database.Beginner, customerID, id int64) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, customerID); err != nil {
			return err
		}
		var wasDefault bool
		err := tx.QueryRow(ctx, `DELETE FROM customer_addresses WHERE id = $1 AND customer_id = $2 RETURNING is_default`,
			id, customerID).Scan(&wasDefault)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("delete address %d: %w", id, err)
		}
		if wasDefault {
			if _, err := tx.Exec(ctx, `UPDATE customer_addresses SET is_default = true WHERE id = (
				SELECT id FROM customer_addresses WHERE customer_id = $1 ORDER BY id DESC LIMIT 1)`, customerID); err != nil {
				return fmt.Errorf("choose a new default address for customer %d: %w", customerID, err)
			}
		}
		return nil
	})
}
