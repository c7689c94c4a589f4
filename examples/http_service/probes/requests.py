# What is the service doing? Its counters, its cache, and the process.
print(f"requests: {stats.requests} total, {stats.in_flight} in flight")
for path, count in sorted(stats.by_path.items()):
    print(f"  {path:<10}{count:>4}")
print(f"by status: {stats.by_status}")
print(f"cache: {len(cache.entries)} users, {cache.hits} hits, {cache.misses} misses")
print(cache)
print(process)
