package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/surgekit/surge/examples/internal/exampleutil"
	_ "modernc.org/sqlite" // pure-Go SQLite, registered as "sqlite"
)

// Store is the SQL side, the source of truth: auctions (with the fencing token of
// the last write that changed them) and every accepted bid.
type Store struct {
	db      *sql.DB
	dialect string // "sqlite" | "mysql"
}

// Auction is the state of one auction as stored and as cached.
type Auction struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	StartPrice int64  `json:"start_price"`
	Increment  int64  `json:"increment"`
	Price      int64  `json:"price"`  // current (highest accepted) price; StartPrice before any bid
	Leader     string `json:"leader"` // user of the highest bid, "" before any bid
	BidCount   int64  `json:"bid_count"`
	EndAt      int64  `json:"end_at"` // unix ms; moved later by anti-sniping
	Closed     bool   `json:"closed"`
	Winner     string `json:"winner"`
	Fence      int64  `json:"fence"` // fencing token of the last write; also the version
}

// Bid is one accepted bid row.
type Bid struct {
	AuctionID string `json:"auction_id"`
	BidID     string `json:"bid_id"`
	UserID    string `json:"user_id"`
	Amount    int64  `json:"amount"`
	CreatedAt int64  `json:"created_at"`
	Fence     int64  `json:"fence"`
}

var (
	errNotFound = errors.New("auction not found")
	// ErrStaleFence: the SQL update carried a fencing token not newer than the one
	// already stored, i.e. the writer's lock expired and a newer holder wrote since.
	ErrStaleFence = errors.New("auction: stale fencing token, update refused")
	errExists     = errors.New("auction already exists")
)

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

// OpenMySQL opens a MySQL/MariaDB database, creating the database named in the DSN
// (default "auction") if needed.
func OpenMySQL(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql dsn: %w", err)
	}
	if cfg.DBName == "" {
		cfg.DBName = "auction"
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

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) migrate(ctx context.Context) error {
	ddl := []string{
		`CREATE TABLE IF NOT EXISTS auctions (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			title VARCHAR(200) NOT NULL,
			start_price BIGINT NOT NULL,
			increment BIGINT NOT NULL,
			price BIGINT NOT NULL,
			leader VARCHAR(64) NOT NULL,
			bid_count BIGINT NOT NULL,
			end_at BIGINT NOT NULL,
			closed INTEGER NOT NULL,
			winner VARCHAR(64) NOT NULL,
			fence BIGINT NOT NULL,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS bids (
			auction_id VARCHAR(64) NOT NULL,
			bid_id VARCHAR(64) NOT NULL,
			user_id VARCHAR(64) NOT NULL,
			amount BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			fence BIGINT NOT NULL,
			PRIMARY KEY (auction_id, bid_id))`,
	}
	for _, q := range ddl {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// CreateAuction inserts a new auction (fence 0: no write has happened yet).
func (s *Store) CreateAuction(ctx context.Context, a Auction, now int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO auctions
		(id, title, start_price, increment, price, leader, bid_count, end_at, closed, winner, fence, created_at)
		VALUES (?, ?, ?, ?, ?, '', 0, ?, 0, '', 0, ?)`,
		a.ID, a.Title, a.StartPrice, a.Increment, a.StartPrice, a.EndAt, now)
	if err != nil && s.isDuplicate(err) {
		return errExists
	}
	return err
}

func (s *Store) isDuplicate(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	msg := err.Error()
	return s.dialect == "sqlite" && (contains(msg, "UNIQUE constraint") || contains(msg, "PRIMARY KEY"))
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

const auctionCols = `id, title, start_price, increment, price, leader, bid_count, end_at, closed, winner, fence`

type rowScanner interface{ Scan(dest ...any) error }

func scanAuction(r rowScanner) (Auction, error) {
	var a Auction
	var closed int
	err := r.Scan(&a.ID, &a.Title, &a.StartPrice, &a.Increment, &a.Price, &a.Leader, &a.BidCount, &a.EndAt, &closed, &a.Winner, &a.Fence)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNotFound
	}
	a.Closed = closed != 0
	return a, err
}

// GetAuction reads one auction straight from SQL (the cache loader, and the
// "direct SQL" side of the read benchmark).
func (s *Store) GetAuction(ctx context.Context, id string) (Auction, error) {
	return scanAuction(s.db.QueryRowContext(ctx, `SELECT `+auctionCols+` FROM auctions WHERE id = ?`, id))
}

// Bids lists an auction's accepted bids, oldest first.
func (s *Store) Bids(ctx context.Context, id string) ([]Bid, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT auction_id, bid_id, user_id, amount, created_at, fence
		FROM bids WHERE auction_id = ? ORDER BY amount`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bid
	for rows.Next() {
		var b Bid
		if err := rows.Scan(&b.AuctionID, &b.BidID, &b.UserID, &b.Amount, &b.CreatedAt, &b.Fence); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// DueAuctions lists open auctions whose end time has passed.
func (s *Store) DueAuctions(ctx context.Context, now int64, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM auctions WHERE closed = 0 AND end_at <= ? ORDER BY end_at LIMIT ?`, now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// fencedTx runs fn in a transaction on the current row of auction id. fn decides
// the new row (or returns an error to roll back); the UPDATE only applies when
// fence is newer than the stored one, so a writer whose lock expired while it was
// paused cannot overwrite a write made by the lock's next holder: ErrStaleFence.
func (s *Store) fencedTx(ctx context.Context, id string, fence int64, fn func(tx *sql.Tx, cur Auction) (Auction, error)) (Auction, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Auction{}, err
	}
	defer func() { _ = tx.Rollback() }()
	lockClause := ""
	if s.dialect == "mysql" {
		lockClause = " FOR UPDATE"
	}
	cur, err := scanAuction(tx.QueryRowContext(ctx, `SELECT `+auctionCols+` FROM auctions WHERE id = ?`+lockClause, id))
	if err != nil {
		return Auction{}, err
	}
	next, err := fn(tx, cur)
	if err != nil {
		return Auction{}, err
	}
	closed := 0
	if next.Closed {
		closed = 1
	}
	res, err := tx.ExecContext(ctx, `UPDATE auctions SET price = ?, leader = ?, bid_count = ?, end_at = ?, closed = ?, winner = ?, fence = ?
		WHERE id = ? AND fence < ?`,
		next.Price, next.Leader, next.BidCount, next.EndAt, closed, next.Winner, fence, id, fence)
	if err != nil {
		return Auction{}, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Auction{}, err
	}
	if n == 0 {
		return Auction{}, ErrStaleFence
	}
	if err := tx.Commit(); err != nil {
		return Auction{}, err
	}
	next.Fence = fence
	return next, nil
}

// insertBid records an accepted bid inside the fenced transaction.
func insertBid(ctx context.Context, tx *sql.Tx, b Bid) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO bids (auction_id, bid_id, user_id, amount, created_at, fence) VALUES (?, ?, ?, ?, ?, ?)`,
		b.AuctionID, b.BidID, b.UserID, b.Amount, b.CreatedAt, b.Fence)
	return err
}
