package exampleutil

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/go-sql-driver/mysql"
)

// CreateMySQLDatabase creates database name on the server of cfg if it is missing.
func CreateMySQLDatabase(ctx context.Context, cfg *mysql.Config, name string) error {
	return mysqlExec(ctx, cfg, "CREATE DATABASE IF NOT EXISTS `%s`", name)
}

// DropMySQLDatabase removes database name (tests drop their private databases).
func DropMySQLDatabase(ctx context.Context, dsn, name string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	return mysqlExec(ctx, cfg, "DROP DATABASE IF EXISTS `%s`", name)
}

// mysqlExec runs a database-level statement without selecting a database. The name
// is checked, not quoted, because identifiers cannot be bound as parameters.
func mysqlExec(ctx context.Context, cfg *mysql.Config, stmt, name string) error {
	if !ValidDBName(name) {
		return fmt.Errorf("mysql database name %q: only [A-Za-z0-9_] allowed", name)
	}
	c := cfg.Clone()
	c.DBName = ""
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, fmt.Sprintf(stmt, name))
	return err
}

// ValidDBName reports whether s is a database name the examples accept: 1 to 64 of
// [A-Za-z0-9_].
func ValidDBName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
