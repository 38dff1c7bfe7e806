package cache

import "context"

// SetWorkerDelete replaces how a worker executes one delete (fault injection).
func SetWorkerDelete(w *DeleteWorker, del func(ctx context.Context, key string) error) { w.del = del }
