# First look at a live order service: errors, the order book, the cache, the settings.
print(status_codes.most_common(3))

for o in orders:
    line = f"{o.symbol:<8}{o.side.name:<5}{o.qty:>5} @ {o.price:>9} = {o.total:>10.2f}"
    print(line, o.status.name)

now = stats["started"] + stats["uptime"]
for key, entry in sorted(cache.items()):
    print(key, entry.expires - now)

print(settings)
