"""The corpus: probes as an on-call engineer types them into a REPL on a live service.

One entry per probe, keyed by the name its test id carries; the source is exactly what both runs
execute (plain CPython for the expected output, safeprobe for the actual). The names a probe reads
are those of service.EXPOSED, plus what test_corpus.PLAIN_EXTRAS gives plain Python in place of
safeprobe's own builtins (typename, hasattr, and the stdlib classes isinstance tests against).

Left out on purpose, because plain Python's output is not reproducible or carries an address: the
repr of an object without its own __repr__ (``<... object at 0x...>``), of a function, lambda,
generator, method or class; ``id()``; ``hash()`` of str and bytes (randomized per process); a
memoryview's repr; the iteration order of a set of strings; anything reading the clock or
randomness (``datetime.now()``); and the repr of a pydantic SecretStr field, which hides itself.
"""

from __future__ import annotations

PROBES: dict[str, str] = {
    # --- request stats: dicts of counters, latency lists -------------------------------------
    "stats_requests_dict": "print(stats['requests'])",
    "stats_total_requests": "print(sum(stats['requests'].values()))",
    "stats_requests_table": (
        "for method, n in sorted(stats['requests'].items(), key=lambda kv: -kv[1]):\n"
        "    print(f'{method:<7}{n:>8,}')"
    ),
    "stats_error_rate": (
        "total = sum(stats['requests'].values())\n"
        "errs = sum(stats['errors'].values())\n"
        "print(f'error rate {errs / total:.3%}')"
    ),
    "stats_latency_mean_max": (
        "lat = stats['latency_ms']\nprint(f'mean={sum(lat) / len(lat):.2f} max={max(lat)}')"
    ),
    "stats_latency_p90": (
        "lat = sorted(stats['latency_ms'])\nprint(lat[int(len(lat) * 0.9) - 1], lat[-3:])"
    ),
    "stats_slow_requests": "print([x for x in stats['latency_ms'] if x > 100])",
    "stats_top_route": "print(max(stats['by_route'], key=stats['by_route'].get))",
    "stats_routes_sorted": "print(sorted(stats['by_route'].items(), key=lambda kv: kv[1]))",
    "stats_bytes_out_human": "print(f\"{stats['bytes_out'] / 2**20:.1f} MiB\")",
    "stats_started_isoformat": "print(stats['started'].isoformat())",
    "stats_uptime": "print(stats['uptime'])",
    "stats_uptime_hours": "print(round(stats['uptime'].total_seconds() / 3600, 2))",
    "stats_uptime_days_attr": "print(stats['uptime'].days, stats['uptime'].seconds)",
    "stats_keys": "print(list(stats))",
    "stats_started_repr": "print(repr(stats['started']))",
    # --- Counter of status codes ---------------------------------------------------------------
    "status_counter_repr": "print(status_codes)",
    "status_most_common": "print(status_codes.most_common(3))",
    "status_5xx_count": "print(sum(n for code, n in status_codes.items() if code >= 500))",
    "status_counter_lookup": "print(status_codes[404], status_codes[418])",
    "status_counter_total": "print(status_codes.total())",
    "status_share_table": (
        "total = sum(status_codes.values())\n"
        "for code in sorted(status_codes):\n"
        "    print(code, f'{status_codes[code] / total:6.2%}')"
    ),
    "status_counter_isinstance_dict": "print(isinstance(status_codes, dict))",
    # --- recent requests: a deque of tuples ----------------------------------------------------
    "recent_deque_repr": "print(recent)",
    "recent_last": "print(recent[-1])",
    "recent_maxlen": "print(len(recent), recent.maxlen)",
    "recent_404s": "print([path for method, path, code, ms in recent if code == 404])",
    "recent_slowest": "print(max(recent, key=lambda r: r[3]))",
    "recent_unpack_loop": (
        "for method, path, code, ms in recent:\n    print(f'{method:6} {path:<14} {code} {ms:5.1f}ms')"
    ),
    # --- the cache: entries with aware datetime expiry and timedelta ttl ----------------------
    "cache_keys": "print(sorted(cache))",
    "cache_entry_repr": "print(cache['user:42'])",
    "cache_entry_expires": "print(cache['user:42'].expires)",
    "cache_entry_ttl": "print(cache['user:42'].ttl, cache['quote:ACME'].ttl)",
    "cache_ttl_seconds": "print({k: e.ttl.total_seconds() for k, e in cache.items()})",
    "cache_latest_expiry": "print(max(cache.values(), key=lambda e: e.expires))",
    "cache_expired_before_start": (
        "cutoff = stats['started'] + stats['uptime']\n"
        "print([k for k, e in cache.items() if e.expires < cutoff])"
    ),
    "cache_time_left": (
        "now = stats['started'] + stats['uptime']\n"
        "for k, e in sorted(cache.items()):\n    print(k, e.expires - now)"
    ),
    "cache_expires_strftime": "print(cache['user:7'].expires.strftime('%Y-%m-%d %H:%M:%S %Z'))",
    "cache_expires_fstring_spec": "print(f\"{cache['user:42'].expires:%H:%M:%S.%f}\")",
    "cache_expires_tz": "print(cache['user:42'].expires.tzinfo, cache['user:42'].expires.utcoffset())",
    "cache_expires_timestamp": "print(cache['fx:EURUSD'].expires.timestamp())",
    "cache_expires_date_parts": (
        "e = cache['user:42'].expires\nprint(e.year, e.month, e.day, e.hour, e.minute, e.weekday())"
    ),
    "cache_expires_date": "print(cache['user:42'].expires.date(), cache['user:42'].expires.time())",
    "cache_hits_total": "print(sum(e.hits for e in cache.values()))",
    "cache_value_dict": "print(cache['user:42'].value['tier'])",
    "cache_quote_value": "print(cache['quote:ACME'].value, cache['fx:EURUSD'].value)",
    "cache_ttl_compare": "print(cache['quote:ACME'].ttl < cache['user:42'].ttl)",
    "cache_ttl_arith": "print(cache['user:42'].ttl * 2, cache['fx:EURUSD'].ttl // cache['user:42'].ttl)",
    "cache_hit_ratio_fraction": (
        "hits = sorted(e.hits for e in cache.values())\nprint(hits, hits[-1] / sum(hits))"
    ),
    # --- the order book: dataclasses with Decimal, datetime, Enum, IntEnum, UUID -------------
    "order_first_total": "print(state['orders'][0].total)",
    "order_first_repr": "print(state['orders'][0])",
    "order_book_sum": "print(sum(o.total for o in book.orders))",
    "order_book_repr_tick": "print(book.venue, book.tick, repr(book.tick))",
    "order_total_format": "print(f'{orders[2].total:,.2f} / {orders[3].total:>12,.2f}')",
    "order_price_quantize": "print(orders[2].price.quantize(book.tick))",
    "order_decimal_arith": (
        "o = orders[0]\nprint(o.price * o.qty == o.total, o.total - orders[5].total, o.total / 3)"
    ),
    "order_decimal_fee": "print(orders[3].total * config.fee_rate)",
    "order_decimal_compare": "print(orders[0].price > orders[5].price, max(o.price for o in orders))",
    "order_decimal_str_float": "print(str(orders[2].price), float(orders[2].price), int(orders[3].total))",
    "order_decimal_tuple": "print(orders[2].price.as_tuple())",
    "order_side_name_value": "print(orders[0].side.name, orders[0].side.value)",
    "order_status_repr": "print(orders[1].status, repr(orders[1].status))",
    "order_status_filter": "print([o.symbol for o in orders if o.status == orders[1].status])",
    "order_status_counts": (
        "counts = {}\nfor o in orders:\n    counts[o.status.name] = counts.get(o.status.name, 0) + 1\n"
        "print(counts)"
    ),
    "order_priority_intenum": (
        "p = orders[1].priority\nprint(p, int(p), p > 3, p + 1, p == 10, p.name)"
    ),
    "order_priority_sorted": "print([o.priority.name for o in sorted(orders, key=lambda o: -o.priority)])",
    "order_uuid_str": "print(orders[0].id)",
    "order_uuid_attrs": "print(orders[0].id.hex, orders[0].id.version, orders[0].id.int % 1000)",
    "order_uuid_repr": "print(repr(orders[4].id))",
    "order_uuid_compare": "print(orders[0].id < orders[1].id, str(orders[5].id)[-4:])",
    "order_placed_isoformat": "print(orders[3].placed.isoformat(timespec='seconds'))",
    "order_placed_span": "print(orders[-1].placed - orders[0].placed)",
    "order_placed_latest": "print(max(o.placed for o in orders))",
    "order_placed_compare": "print(orders[1].placed > orders[0].placed, orders[0].placed == orders[0].placed)",
    "order_placed_fstring": "print(f'{orders[0].placed:%Y-%m-%dT%H:%M}Z {orders[0].symbol}')",
    "order_open_by_symbol": (
        "by = {}\nfor o in orders:\n    if o.status.name == 'OPEN':\n"
        "        by.setdefault(o.symbol, []).append(str(o.total))\nprint(by)"
    ),
    "order_notional_by_side": (
        "buy = sum(o.total for o in orders if o.side.value == 'buy')\n"
        "print(f'buy notional: {buy:.2f}')"
    ),
    "order_table": (
        "for o in orders:\n"
        "    print(f'{o.symbol:<8}{o.side.name:<5}{o.qty:>5} @ {o.price:>9} = {o.total:>10.2f}"
        " {o.status.name}')"
    ),
    "order_book_fields": "print(len(book.orders), book.orders[0].symbol, book.orders[-1].qty)",
    # --- settings: pydantic v2 model and frozen dataclass, each with a secret ---------------
    "settings_model_print": "print(settings)",
    "settings_model_repr": "print(repr(settings))",
    "settings_fields": "print(settings.service, settings.port, settings.workers)",
    "settings_secret_field": "print(settings.db_password)",
    "settings_timeout": "print(settings.request_timeout.total_seconds(), settings.request_timeout)",
    "settings_region_strenum": "print(settings.region, settings.region.value, settings.region == 'eu-west-1')",
    "settings_region_upper": "print(settings.region.upper(), settings.region.split('-'))",
    "settings_origins": "print(settings.allowed_origins, len(settings.allowed_origins))",
    "settings_max_body": "print(f'{settings.max_body / 1024:.0f} KiB')",
    "config_dataclass_print": "print(config)",
    "config_secret_field": "print(config.api_token)",
    "config_version": "print('.'.join(str(p) for p in config.version), config.version >= (3, 0, 0))",
    "config_backoff": "print(config.retry_backoff, sum(config.retry_backoff))",
    "config_fee_rate": "print(f'{config.fee_rate:.4%}', config.fee_rate * 10000)",
    "env_dict_with_secret": "print(env)",
    "env_secret_key": "print(env['WEBHOOK_SECRET'])",
    "env_get": "print(env.get('LOG_LEVEL'), int(env.get('SHARDS', '1')), env.get('MISSING'))",
    # --- queues: deques with maxlen -------------------------------------------------------------
    "queues_lengths": "print({name: len(q) for name, q in queues.items()})",
    "queues_email_repr": "print(queues['email'])",
    "queues_email_head": "print(queues['email'][0], list(queues['email'])[1:])",
    "queues_empty_webhooks": "print(queues['webhooks'], bool(queues['webhooks']))",
    "queues_retries_count": "print(queues['retries'].count(1), queues['retries'].maxlen)",
    "queues_full": "print([n for n, q in queues.items() if q.maxlen and len(q) >= q.maxlen])",
    # --- registries of named tuples -------------------------------------------------------------
    "routes_repr_first": "print(routes[0])",
    "routes_fields": "print(routes[1].method, routes[1].path, routes[1].handler)",
    "routes_handlers": "print([r.handler for r in routes if r.method == 'GET'])",
    "routes_index_unpack": "method, path, handler = routes[2]\nprint(method, path, handler, routes[2][1])",
    # _asdict() and _fields are refused at compile time (names starting with "_"); the
    # probe-side spelling is asdict(), given to plain Python as _asdict() (test_corpus.py).
    "routes_asdict": "print(asdict(routes[3]))",
    "routes_fields_attr": "print(list(asdict(routes[0])))",
    "peers_repr": "print(peers[1])",
    "peers_defaults": "print(peers[0].weight, peers[2].weight)",
    "peers_table": "for p in peers:\n    print(f'{p.name:<11} {p.address!s:>12}:{p.port}')",
    # --- ipaddress ------------------------------------------------------------------------------
    "peers_private": "print([(p.name, p.address.is_private) for p in peers])",
    "peers_ip_version": "print({p.name: p.address.version for p in peers})",
    "peers_ip_in_network": "print([p.name for p in peers if p.address in networks['internal']])",
    "peers_ip_int": "print(int(peers[0].address), peers[0].address + 1)",
    "networks_repr": "print(networks['internal'], repr(networks['office']))",
    "networks_sizes": "print(networks['internal'].num_addresses, networks['office'].prefixlen)",
    "networks_netmask": "print(networks['office'].netmask, networks['office'].broadcast_address)",
    "networks_v6_compressed": "print(networks['v6'].network_address, peers[3].address.exploded)",
    # --- defaultdict, OrderedDict, SimpleNamespace ---------------------------------------------
    "defaultdict_repr": "print(sessions_by_user)",
    "defaultdict_lookup": "print(sessions_by_user['ada'], len(sessions_by_user))",
    "defaultdict_counts": "print({u: len(s) for u, s in sessions_by_user.items()})",
    "ordereddict_repr": "print(lru)",
    "ordereddict_order": "print(list(lru), list(lru)[0], list(lru.values())[-1])",
    "flags_repr": "print(flags)",
    "flags_attrs": "print(flags.new_checkout, flags.rollout_pct, flags.beta_regions)",
    "flags_enabled": "print('new_checkout' if flags.new_checkout else 'old', 'eu' in flags.beta_regions)",
    # --- bytes-likes ------------------------------------------------------------------------------
    "wire_repr": "print(wire)",
    "wire_index": "print(wire[0], wire[-1], len(wire))",
    "wire_slice": "print(wire[:8], wire[9:12])",
    "wire_bytes_decode": "print(bytes(wire).decode().strip())",
    "wire_decode_direct": "print(wire.decode('ascii').split()[1])",
    "wire_hex": "print(wire[:4].hex(), wire.startswith(b'HTTP'))",
    # --- paths ------------------------------------------------------------------------------------
    "paths_repr": "print(repr(paths['log']), paths['log'])",
    "paths_parts": "print(paths['log'].suffix, paths['log'].stem, paths['log'].name)",
    "paths_parent": "print(paths['config'].parent, paths['config'].parts)",
    "paths_join": "print(paths['log'].parent / 'old', paths['socket'].with_suffix('.pid'))",
    "paths_match": "print([k for k, p in sorted(paths.items()) if p.match('*.toml')])",
    # --- StrEnum, Flag, array, range, complex, Fraction ----------------------------------------
    "perms_flag": "print(perms, repr(perms))",
    "perms_flag_members": "print(perms.value, perms.name, [p.name for p in perms], len(perms))",
    "histogram_array": "print(histogram)",
    "histogram_stats": "print(sum(histogram), max(histogram), histogram[3], histogram.typecode)",
    "histogram_tolist": "print(histogram.tolist()[:3], len(histogram), histogram.itemsize)",
    "shard_range": "print(shard_range, list(shard_range), 32 in shard_range, shard_range[-1])",
    "shard_range_attrs": "print(shard_range.start, shard_range.stop, shard_range.step, len(shard_range))",
    "complex_parts": "print(impedance, impedance.real, impedance.imag, abs(impedance))",
    "complex_conjugate": "print(impedance.conjugate(), impedance * 2)",
    "fraction_repr": "print(fee_split, repr(fee_split))",
    "fraction_arith": "print(fee_split + 1, fee_split * 2, float(fee_split), fee_split.denominator)",
    "fraction_fx": "print(cache['fx:EURUSD'].value * 100, round(cache['fx:EURUSD'].value, 2))",
    # --- isinstance, typename, hasattr ----------------------------------------------------------
    "isinstance_builtin_tuple": "print(isinstance(stats['bytes_out'], (int, float)), isinstance(3, int))",
    "isinstance_decimal": "print(isinstance(orders[0].total, Decimal), isinstance(orders[0].qty, Decimal))",
    "isinstance_datetime": "print(isinstance(orders[0].placed, datetime), isinstance(stats['uptime'], timedelta))",
    "isinstance_uuid_enum": "print(isinstance(orders[0].id, UUID), isinstance(orders[0].side, Enum))",
    "typename_builtins": "print(typename(3), typename('x'), typename(stats), typename(stats['latency_ms']))",
    "typename_values": "print([typename(v) for v in (orders[0].total, orders[0].placed, orders[0].id)])",
    "typename_fixture": "print(typename(book), typename(orders[0]), typename(settings), typename(routes[0]))",
    "typename_collections": "print(typename(recent), typename(status_codes), typename(lru), typename(flags))",
    "typename_per_key": "for k in sorted(state):\n    print(k, typename(state[k]))",
    "hasattr_fields": "print(hasattr(orders[0], 'total'), hasattr(orders[0], 'nope'))",
    "hasattr_namedtuple": "print(hasattr(peers[0], 'weight'), hasattr(flags, 'dark_mode'))",
    # --- date, time, a fixed-offset timezone, ChainMap, bytes -----------------------------------
    "maintenance_date": (
        "d = maintenance['day']\nprint(d, d.isoformat(), d.weekday(), d.strftime('%a %d %b'))"
    ),
    "maintenance_time": "print(maintenance['start'], maintenance['start'].hour, repr(maintenance['start']))",
    "maintenance_window_utc": (
        "w = maintenance['window_start']\nprint(w, w.astimezone(orders[0].placed.tzinfo))"
    ),
    "maintenance_tzname": (
        "w = maintenance['window_start']\nprint(w.tzname(), w.utcoffset(), w.tzinfo)"
    ),
    "maintenance_days_until": "print((maintenance['day'] - orders[0].placed.date()).days)",
    "maintenance_window_end": (
        "end = maintenance['window_start'] + maintenance['length']\n"
        "print(f'{end:%H:%M %Z}', end > maintenance['window_start'])"
    ),
    "maintenance_repr": "print(maintenance)",
    "chainmap_lookup": "print(layers['timeout'], layers['retries'], dict(layers))",
    "chainmap_repr": "print(layers)",
    "chainmap_maps": "print(len(layers.maps), layers.maps[-1])",
    "frame_bytes": "print(frame[0], frame[2:4], frame[5:].decode(), len(frame))",
    "frame_hex": "print(frame[:5].hex(' '), frame.startswith(bytes([0, 0])))",
    # --- whole-state reads and errors -----------------------------------------------------------
    "state_peers_repr": "print(state['peers'])",
    "state_keys_len": "print(sorted(state), len(state['orders']))",
    "missing_key_error": "try:\n    cache['user:99']\nexcept KeyError as e:\n    print('miss', e)",
    "index_error": "try:\n    orders[10]\nexcept IndexError as e:\n    print(e)",
    "execute_function": (
        "def execute():\n    late = [o.symbol for o in orders if o.placed.minute >= 20]\n    print(late)"
    ),
}
