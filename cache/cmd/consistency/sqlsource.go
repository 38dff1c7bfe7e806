package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"
)

// sqlSource is the harness's versioned source of truth in a real SQL table:
// one row per key, Bump increments it in a transaction and returns the
// committed version.
type sqlSource struct {
	db    *sql.DB
	table string
}

func openSQL(ctx context.Context, driver, dsn, table string, keys int) (*sqlSource, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		db.SetMaxOpenConns(1) // one writer; busy errors otherwise
	} else {
		db.SetMaxOpenConns(32)
	}
	s := &sqlSource{db: db, table: table}
	stmts := []string{
		"DROP TABLE IF EXISTS " + table,
		"CREATE TABLE " + table + " (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL)",
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	for i := 0; i < keys; i++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (k, v) VALUES (?, 0)", "k"+strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *sqlSource) Read(ctx context.Context, key string) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, "SELECT v FROM "+s.table+" WHERE k = ?", key).Scan(&v)
	return v, err
}

func (s *sqlSource) Bump(ctx context.Context, key string) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE "+s.table+" SET v = v + 1 WHERE k = ?", key); err != nil {
		return 0, err
	}
	var v int64
	if err := tx.QueryRowContext(ctx, "SELECT v FROM "+s.table+" WHERE k = ?", key).Scan(&v); err != nil {
		return 0, err
	}
	return v, tx.Commit()
}

func (s *sqlSource) Close() error {
	_, _ = s.db.Exec("DROP TABLE IF EXISTS " + s.table)
	return s.db.Close()
}
