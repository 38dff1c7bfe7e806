package lock

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var errLostReply = errors.New("test: reply lost after the server ran the command")

// loseFirstScriptReply lets the first script call that the server ran successfully
// look failed to the caller, as a timeout after the write would.
type loseFirstScriptReply struct{ done atomic.Bool }

func (h *loseFirstScriptReply) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (h *loseFirstScriptReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		name := strings.ToLower(cmd.Name())
		if err == nil && (name == "evalsha" || name == "eval") && h.done.CompareAndSwap(false, true) {
			return errLostReply
		}
		return err
	}
}

func (h *loseFirstScriptReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestAcquireLostReplyLeavesNoOrphan: when the acquire script ran but its reply was
// lost, the caller gets an error and the key is freed at once, not held by an
// unknown token until the TTL runs out.
func TestAcquireLostReplyLeavesNoOrphan(t *testing.T) {
	c, rdb := tierClient(t)
	rdb.AddHook(&loseFirstScriptReply{})
	ctx := ctxT(t)
	if _, err := c.Acquire(ctx, "orphan", time.Minute); !errors.Is(err, errLostReply) {
		t.Fatalf("acquire with a lost reply: %v", err)
	}
	l, err := c.Acquire(ctx, "orphan", time.Minute)
	if err != nil {
		t.Fatalf("lock still held after a lost acquire reply: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
