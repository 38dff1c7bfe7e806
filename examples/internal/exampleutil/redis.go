package exampleutil

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// NewLogger returns a text slog logger on stderr at the named level (info when the
// name is not a level).
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// OpenRedis connects to the Redis Cluster listed in cluster (comma-separated), else
// the standalone server at addr, else an embedded miniredis, and checks it answers.
// close releases the client (and stops the embedded server).
func OpenRedis(ctx context.Context, addr, cluster string, poolSize int, log *slog.Logger) (rdb redis.UniversalClient, close func(), err error) {
	var stop func()
	switch {
	case cluster != "":
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(cluster, ","), PoolSize: poolSize})
		log.Info("redis", "mode", "cluster", "addrs", cluster)
	case addr != "":
		rdb = redis.NewClient(&redis.Options{Addr: addr, PoolSize: poolSize})
		log.Info("redis", "mode", "standalone", "addr", addr)
	default:
		m, err := miniredis.Run()
		if err != nil {
			return nil, nil, err
		}
		stop = m.Close
		rdb = redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: poolSize})
		log.Info("redis", "mode", "embedded miniredis", "addr", m.Addr())
	}
	close = func() {
		_ = rdb.Close()
		if stop != nil {
			stop()
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		close()
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	return rdb, close, nil
}
