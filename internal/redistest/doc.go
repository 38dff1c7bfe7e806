// Package redistest is the one way a surge test gets Redis.
//
// Three tiers, chosen by environment variables so that one command (`go test ./...`)
// runs everywhere and CI can point the same tests at real servers:
//
//  1. default: an in-process miniredis per test (nothing to install);
//  2. SURGE_REDIS_ADDR=host:port: a real standalone Redis server;
//  3. SURGE_REDIS_CLUSTER=host:port,...: a real Redis Cluster (takes precedence
//     over SURGE_REDIS_ADDR for Client), and SURGE_REDIS_NODES=host:port,...
//     lists independent masters for Redlock tests.
//
// Every test gets its own key space: Prefix(t) is unique per test, contains no
// glob or hash-tag characters (so it can sit in front of or inside a `{...}` tag),
// and every key under it is deleted when the test ends. Tests can therefore run in
// parallel against one shared server.
//
// A requested tier that cannot be reached is a test failure, never a skip: a CI run
// that silently skipped its real-server tier would prove nothing.
//
// Server(t) starts a private redis-server process on a free port for fault tests:
// Stop, Kill, Start (same port, optional AOF) and Pause (SIGSTOP/SIGCONT).
package redistest
