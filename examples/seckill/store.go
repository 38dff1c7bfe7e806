package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/surgekit/surge/examples/internal/exampleutil"
	_ "modernc.org/sqlite" // pure-Go SQLite, registered as "sqlite"
)

// Store is the SQL side: sales, restocks and orders. Orders are written only from the
// stock outbox (see persist), in batches, idempotent by op id, so a redelivered
// outbox entry changes nothing and Redis and the database can always be reconciled.
type Store struct {
	db      *sql.DB
	dialect string // "sqlite" | "mysql"
}

// Sale is one flash sale as stored.
type Sale struct {
	ID           string `json:"id"`
	Item         string `json:"item"`
	Description  string `json:"description"`
	PriceCents   int64  `json:"price_cents"`
	Stock        int64  `json:"stock"` // initial stock + every restock
	PerUserLimit int64  `json:"per_user_limit"`
	StartAt      int64  `json:"start_at"` // unix ms
	EndAt        int64  `json:"end_at"`   // unix ms
	PayTimeoutMs int64  `json:"pay_timeout_ms"`
	BuyPath      string `json:"-"` // revealed only at start
	Closed       bool   `json:"closed"`
}

// Order is one order row.
type Order struct {
	OrderID   string `json:"order_id"`
	SaleID    string `json:"sale_id"`
	UserID    string `json:"user_id"`
	Qty       int64  `json:"qty"`
	Status    string `json:"status"` // reserved | paid | released
	CreatedAt int64  `json:"created_at"`
}

var errNotFound = errors.New("not found")

// OpenSQLite opens (creating if needed) a SQLite database file.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	s := &Store{db: db, dialect: "sqlite"}
	return s, s.migrate(ctx)
}

// OpenMySQL opens a MySQL/MariaDB database. When the DSN names a database that does
// not exist yet it is created.
func OpenMySQL(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql dsn: %w", err)
	}
	if cfg.DBName == "" {
		cfg.DBName = "seckill"
	}
	if err := exampleutil.CreateMySQLDatabase(ctx, cfg, cfg.DBName); err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	s := &Store{db: db, dialect: "mysql"}
	return s, s.migrate(ctx)
}

func (s *Store) Close() error { return s.db.Close() }

func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) migrate(ctx context.Context) error {
	ddl := []string{
		`CREATE TABLE IF NOT EXISTS sales (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			item VARCHAR(200) NOT NULL,
			description TEXT NOT NULL,
			price_cents BIGINT NOT NULL,
			stock BIGINT NOT NULL,
			per_user_limit BIGINT NOT NULL,
			start_at BIGINT NOT NULL,
			end_at BIGINT NOT NULL,
			pay_timeout_ms BIGINT NOT NULL,
			buy_path VARCHAR(64) NOT NULL,
			closed INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS restocks (
			op VARCHAR(128) NOT NULL PRIMARY KEY,
			sale_id VARCHAR(64) NOT NULL,
			qty BIGINT NOT NULL,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS orders (
			order_id VARCHAR(128) NOT NULL PRIMARY KEY,
			sale_id VARCHAR(64) NOT NULL,
			user_id VARCHAR(64) NOT NULL,
			qty BIGINT NOT NULL,
			status VARCHAR(16) NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS orders_sale_status ON orders (sale_id, status)`,
	}
	if s.dialect == "mysql" {
		// MySQL 8 has no CREATE INDEX IF NOT EXISTS (MariaDB has): tolerate error 1061.
		ddl[len(ddl)-1] = `CREATE INDEX orders_sale_status ON orders (sale_id, status)`
	}
	for _, q := range ddl {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			var me *mysql.MySQLError
			if errors.As(err, &me) && me.Number == 1061 {
				continue
			}
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

func (s *Store) insertIgnore() string {
	if s.dialect == "mysql" {
		return "INSERT IGNORE INTO "
	}
	return "INSERT OR IGNORE INTO "
}

// CreateSale inserts a sale; false when a sale with that id exists already.
func (s *Store) CreateSale(ctx context.Context, sl Sale) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.insertIgnore()+`sales
		(id, item, description, price_cents, stock, per_user_limit, start_at, end_at, pay_timeout_ms, buy_path, closed, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,0,?)`,
		sl.ID, sl.Item, sl.Description, sl.PriceCents, sl.Stock, sl.PerUserLimit,
		sl.StartAt, sl.EndAt, sl.PayTimeoutMs, sl.BuyPath, time.Now().UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const saleCols = `id, item, description, price_cents, stock, per_user_limit, start_at, end_at, pay_timeout_ms, buy_path, closed`

func scanSale(sc interface{ Scan(...any) error }) (Sale, error) {
	var sl Sale
	var closed int64
	err := sc.Scan(&sl.ID, &sl.Item, &sl.Description, &sl.PriceCents, &sl.Stock, &sl.PerUserLimit,
		&sl.StartAt, &sl.EndAt, &sl.PayTimeoutMs, &sl.BuyPath, &closed)
	sl.Closed = closed != 0
	return sl, err
}

// Sale reads one sale (errNotFound when absent).
func (s *Store) Sale(ctx context.Context, id string) (Sale, error) {
	sl, err := scanSale(s.db.QueryRowContext(ctx, `SELECT `+saleCols+` FROM sales WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Sale{}, errNotFound
	}
	return sl, err
}

// Sales lists sales, newest first.
func (s *Store) Sales(ctx context.Context) ([]Sale, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+saleCols+` FROM sales ORDER BY created_at DESC, id LIMIT 100`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Sale
	for rows.Next() {
		sl, err := scanSale(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sl)
	}
	return out, rows.Err()
}

// CloseSale marks a sale closed.
func (s *Store) CloseSale(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sales SET closed = 1 WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Sale(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Restock records a restock under op and raises the sale's total stock, once per op.
func (s *Store) Restock(ctx context.Context, sale, op string, qty int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.insertIgnore()+`restocks (op, sale_id, qty, created_at) VALUES (?,?,?,?)`,
		op, sale, qty, time.Now().UnixMilli())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, `UPDATE sales SET stock = stock + ? WHERE id = ?`, qty, sale); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Order reads one order (errNotFound when absent).
func (s *Store) Order(ctx context.Context, id string) (Order, error) {
	var o Order
	err := s.db.QueryRowContext(ctx, `SELECT order_id, sale_id, user_id, qty, status, created_at FROM orders WHERE order_id = ?`, id).
		Scan(&o.OrderID, &o.SaleID, &o.UserID, &o.Qty, &o.Status, &o.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, errNotFound
	}
	return o, err
}

// OrderCounts returns the units per status of a sale (reserved, paid, released) and
// the number of rows.
func (s *Store) OrderCounts(ctx context.Context, sale string) (map[string]int64, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*), COALESCE(SUM(qty),0) FROM orders WHERE sale_id = ? GROUP BY status`, sale)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]int64{"reserved": 0, "paid": 0, "released": 0}
	var total int64
	for rows.Next() {
		var st string
		var n, units int64
		if err := rows.Scan(&st, &n, &units); err != nil {
			return nil, 0, err
		}
		out[st] = units
		total += n
	}
	return out, total, rows.Err()
}

// Persist applies a batch of outbox events in one transaction, idempotently by op id:
// a reserve inserts the order row (ignored if present), a confirm/release moves a
// 'reserved' row to 'paid'/'released' (no-op otherwise). Events of one op arrive in
// stream order, and the insert pass runs before the update pass, so a reserve and its
// settlement in the same batch end in the settled state.
func (s *Store) Persist(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := time.Now().UnixMilli()
	var inserts []Event
	settled := map[string][]string{} // target status -> order ids
	for _, ev := range evs {
		switch ev.Type {
		case "reserve":
			inserts = append(inserts, ev)
		case "confirm":
			settled["paid"] = append(settled["paid"], ev.Op)
		case "release":
			settled["released"] = append(settled["released"], ev.Op)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const chunk = 400
	for i := 0; i < len(inserts); i += chunk {
		part := inserts[i:min(i+chunk, len(inserts))]
		var b strings.Builder
		b.WriteString(s.insertIgnore() + `orders (order_id, sale_id, user_id, qty, status, created_at, updated_at) VALUES `)
		args := make([]any, 0, len(part)*7)
		for j, ev := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,'reserved',?,?)")
			args = append(args, ev.Op, ev.Sale, ev.User, ev.Qty, ev.At.UnixMilli(), now)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert orders: %w", err)
		}
	}
	for status, ids := range settled {
		for i := 0; i < len(ids); i += chunk {
			part := ids[i:min(i+chunk, len(ids))]
			args := make([]any, 0, len(part)+2)
			args = append(args, status, now)
			for _, id := range part {
				args = append(args, id)
			}
			q := `UPDATE orders SET status = ?, updated_at = ? WHERE status = 'reserved' AND order_id IN (?` +
				strings.Repeat(",?", len(part)-1) + `)`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("settle orders: %w", err)
			}
		}
	}
	return tx.Commit()
}

// UsersOverLimit counts users holding more than limit live (reserved or paid) units
// of a sale: the per-user limit check of the books.
func (s *Store) UsersOverLimit(ctx context.Context, sale string, limit int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT user_id FROM orders
		WHERE sale_id = ? AND status IN ('reserved','paid') GROUP BY user_id HAVING SUM(qty) > ?) t`, sale, limit).Scan(&n)
	return n, err
}
