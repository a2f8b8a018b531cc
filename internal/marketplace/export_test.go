package marketplace

// SetAfterChunk makes r call fn after each publish chunk it commits.
func SetAfterChunk(r *Runner, fn func(publishID int64)) { r.afterChunk = fn }
