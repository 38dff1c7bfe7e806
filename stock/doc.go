// Package stock is Lua-atomic inventory on Redis for flash sales (秒杀): deductions
// that never oversell, a per-operation flow journal that makes every call idempotent,
// revert/compensation with anti-hanging tombstones, check-back for 2-phase messages,
// reserve → confirm | release, and an atomic outbox stream for persistence.
//
// See README.md for the full description; this comment is expanded below.
package stock
