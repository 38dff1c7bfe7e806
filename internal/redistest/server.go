package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ServerOption configures Server.
type ServerOption func(*serverConfig)

type serverConfig struct {
	aof  bool
	args []string
}

// WithAOF turns on the append-only file with appendfsync always, so that a
// Kill followed by Start loses no acknowledged write.
func WithAOF() ServerOption { return func(c *serverConfig) { c.aof = true } }

// WithArgs appends raw redis-server arguments (e.g. "--maxmemory", "10mb").
func WithArgs(args ...string) ServerOption {
	return func(c *serverConfig) { c.args = append(c.args, args...) }
}

// RedisServer is a redis-server process owned by one test. All methods are safe
// for concurrent use; the process is killed when the test ends.
type RedisServer struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cfg  serverConfig

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// Server starts a private redis-server on a free loopback port. When the binary
// is not installed the test is skipped with a clear message, unless a real tier
// was requested through the environment, in which case it fails: CI must never
// pass a fault test by skipping it.
func Server(t testing.TB, opts ...ServerOption) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if Real() || RealNodes() {
			t.Fatalf("redistest: redis-server not on PATH but a real tier is requested: %v", err)
		}
		t.Skip("redistest: redis-server not installed; install redis-server to run fault tests")
	}
	s := &RedisServer{t: t, bin: bin, port: freePort(t), dir: t.TempDir()}
	for _, o := range opts {
		o(&s.cfg)
	}
	t.Cleanup(s.shutdown)
	s.Start()
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is host:port of the server; it stays the same across Stop and Start.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Client returns a new client for the server, closed when the test ends. Its
// timeouts are short so that fault tests see errors quickly.
func (s *RedisServer) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:         s.Addr(),
		DialTimeout:  500 * time.Millisecond,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
		MaxRetries:   -1,
		PoolSize:     32,
	})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Start launches the process (again) on the same port and data directory and
// waits until it answers PING. With WithAOF the data written before a Stop or
// Kill is loaded back.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatalf("redistest: Start on a running server")
	}
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--save", "", "--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--maxmemory-policy", "noeviction",
	}
	if s.cfg.aof {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, s.cfg.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited, s.paused = cmd, exited, false

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redistest: redis-server exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: redis-server on %s not ready: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to exit.
func (s *RedisServer) Stop() { s.signalAndWait(syscall.SIGTERM) }

// Kill ends the server with SIGKILL, as a crash would, and waits for it to exit.
func (s *RedisServer) Kill() { s.signalAndWait(syscall.SIGKILL) }

func (s *RedisServer) signalAndWait(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if s.paused {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd, s.paused = nil, false
}

// Pause freezes the process with SIGSTOP for d, then resumes it with SIGCONT. It
// returns at once; the returned channel is closed after the server resumed. A
// frozen server accepts TCP connections in the kernel but answers nothing, which
// is what a GC pause, a VM stall or a network partition looks like to a client.
func (s *RedisServer) Pause(d time.Duration) <-chan struct{} {
	s.Freeze()
	done := make(chan struct{})
	time.AfterFunc(d, func() { s.Thaw(); close(done) })
	return done
}

// Freeze sends SIGSTOP; Thaw resumes. Prefer Pause, which cannot forget to thaw.
func (s *RedisServer) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && !s.paused {
		_ = s.cmd.Process.Signal(syscall.SIGSTOP)
		s.paused = true
	}
}

// Thaw resumes a server frozen by Freeze.
func (s *RedisServer) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.paused {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		s.paused = false
	}
}

func (s *RedisServer) shutdown() { s.Kill() }

// String identifies the server in test logs.
func (s *RedisServer) String() string { return fmt.Sprintf("redis-server@%s", s.Addr()) }
