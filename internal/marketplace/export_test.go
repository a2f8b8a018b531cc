package marketplace

// SetAfterChunk makes r call fn after each publish chunk it commits.
func SetAfterChunk(r *Runner, fn func(publishID int64)) { r.afterChunk = fn }

// DescribeFilter is StagedFilter.describe, for tests.
func DescribeFilter(f StagedFilter) string { return f.describe() }

// EndImport is endImport, for tests.
var EndImport = endImport

// PublicAddr is publicAddr, for tests.
var PublicAddr = publicAddr
