package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server that holds vendor databases.
type Server struct {
	ID               int64     `json:"id"`
	Name             string    `json:"name"`
	Host             string    `json:"host"`
	Port             int       `json:"port"`
	AdminUser        string    `json:"admin_user"`
	AdminPasswordEnc []byte    `json:"-"`
	MaintenanceDB    string    `json:"maintenance_db"`
	State            string    `json:"state"`
	CreatedAt        time.Time `json:"created_at"`
	Vendors          int       `json:"vendors"`
}

const serverColumns = `s.id, s.name, s.host, s.port, s.admin_user, s.admin_password_enc, s.maintenance_db, s.state, s.created_at,
	(SELECT count(*) FROM vendor_databases vd WHERE vd.server_id = s.id AND vd.status <> 'dropped')::int`

func scanServer(row pgx.Row) (*Server, error) {
	var s Server
	err := row.Scan(&s.ID, &s.Name, &s.Host, &s.Port, &s.AdminUser, &s.AdminPasswordEnc, &s.MaintenanceDB, &s.State, &s.CreatedAt, &s.Vendors)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &s, err
}

// ServerPasswordContext binds a server's sealed admin password to its name.
func ServerPasswordContext(name string) string { return "db-server:" + name }

// UpsertServer adds a database server or updates its address and login.
func (s *Store) UpsertServer(ctx context.Context, srv *Server) (*Server, error) {
	out, err := scanServer(s.pool.QueryRow(ctx, `
		WITH up AS (
			INSERT INTO db_servers (name, host, port, admin_user, admin_password_enc, maintenance_db)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port,
				admin_user = EXCLUDED.admin_user, admin_password_enc = EXCLUDED.admin_password_enc,
				maintenance_db = EXCLUDED.maintenance_db
			RETURNING *)
		SELECT `+serverColumns+` FROM up s`,
		srv.Name, srv.Host, srv.Port, srv.AdminUser, srv.AdminPasswordEnc, srv.MaintenanceDB))
	if err != nil {
		return nil, fmt.Errorf("save database server %q: %w", srv.Name, err)
	}
	return out, nil
}

// Servers lists every database server.
func (s *Store) Servers(ctx context.Context) ([]*Server, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+serverColumns+` FROM db_servers s ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("list database servers: %w", err)
	}
	defer rows.Close()
	var out []*Server
	for rows.Next() {
		srv, err := scanServer(rows)
		if err != nil {
			return nil, fmt.Errorf("list database servers: %w", err)
		}
		out = append(out, srv)
	}
	return out, rows.Err()
}

// Server returns one database server by id.
func (s *Store) Server(ctx context.Context, id int64) (*Server, error) {
	srv, err := scanServer(s.pool.QueryRow(ctx, `SELECT `+serverColumns+` FROM db_servers s WHERE s.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find database server %d: %w", id, err)
	}
	return srv, nil
}

// LeastLoadedServer returns the active server holding the fewest vendor
// databases: where a new vendor goes.
func LeastLoadedServer(ctx context.Context, q Querier) (*Server, error) {
	srv, err := scanServer(q.QueryRow(ctx, `SELECT `+serverColumns+` FROM db_servers s WHERE s.state = 'active' ORDER BY 10, s.id LIMIT 1`))
	if errors.Is(err, ErrNotFound) {
		return nil, errors.New("no active database server: add one with `provisioner init` or `provisioner servers add`")
	}
	if err != nil {
		return nil, fmt.Errorf("choose database server: %w", err)
	}
	return srv, nil
}

// SetServerState marks a server active or draining (no new vendors).
func (s *Store) SetServerState(ctx context.Context, name, state string) (*Server, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE db_servers SET state = $2 WHERE name = $1`, name, state)
	if err != nil {
		return nil, fmt.Errorf("set server %s %s: %w", name, state, err)
	}
	if tag.RowsAffected() == 0 {
		return nil, fmt.Errorf("database server %q: %w", name, ErrNotFound)
	}
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT id FROM db_servers WHERE name = $1`, name).Scan(&id); err != nil {
		return nil, fmt.Errorf("find server %s: %w", name, err)
	}
	return s.Server(ctx, id)
}
