"""A realistic service's state, as plain module-level objects: what an on-call engineer finds
when they look inside a live order service. examples/orders/app.py runs it as a host
process with safeprobe installed (README, "Reading a live service's state").

The corpus (tests/corpus/test_corpus.py) exposes these names to its probes and runs each probe
twice: in plain CPython, which gives the expected output, and through safeprobe. Every value is
deterministic (no clock, no randomness, no set of strings in output order), so both runs see the
same objects and the expected text is the same on every run.

The secrets are unique tokens (SECRETS) so that the expected output's redactions can be computed
exactly, by replacing their repr and str in plain Python's output with ``<redacted>``.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import datetime as dt
import enum
import ipaddress
import typing
import uuid
from decimal import Decimal
from fractions import Fraction
from pathlib import PurePosixPath
from types import SimpleNamespace

import pydantic

UTC = dt.UTC
# The moment the service's snapshot was taken; every time below is relative to it.
NOW = dt.datetime(2026, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
STARTED = dt.datetime(2026, 3, 12, 22, 0, 0, tzinfo=UTC)

# Unique tokens, so a substitution in the expected output can only hit the secret itself.
DB_PASSWORD = "corpus-db-pw-7Qx2"
API_TOKEN = "corpus-api-tok-Zk91"
WEBHOOK_SECRET = "corpus-hook-sec-M4p8"
SECRETS = (DB_PASSWORD, API_TOKEN, WEBHOOK_SECRET)


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


class Status(enum.Enum):
    OPEN = 1
    PARTIAL = 2
    FILLED = 3
    CANCELLED = 4


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 5
    HIGH = 10


class Region(enum.StrEnum):
    EU_WEST = "eu-west-1"
    US_EAST = "us-east-1"


class Perm(enum.Flag):
    READ = 1
    WRITE = 2
    ADMIN = 4


@dataclasses.dataclass
class Order:
    id: uuid.UUID
    symbol: str
    side: Side
    qty: int
    price: Decimal
    total: Decimal
    placed: dt.datetime
    status: Status
    priority: Priority


@dataclasses.dataclass
class OrderBook:
    venue: str
    orders: list[Order]
    tick: Decimal


@dataclasses.dataclass
class CacheEntry:
    value: object
    expires: dt.datetime
    ttl: dt.timedelta
    hits: int


class Settings(pydantic.BaseModel):
    service: str
    region: Region
    port: int
    workers: int
    request_timeout: dt.timedelta
    max_body: int
    db_password: str
    allowed_origins: list[str]


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    name: str
    version: tuple[int, int, int]
    api_token: str
    retry_backoff: tuple[float, ...]
    fee_rate: Decimal


Endpoint = collections.namedtuple("Endpoint", ["method", "path", "handler"])


class Peer(typing.NamedTuple):
    name: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    weight: float = 1.0


def _order(
    n: int,
    symbol: str,
    side: Side,
    qty: int,
    price: str,
    minute: int,
    status: Status,
    priority: Priority,
) -> Order:
    unit = Decimal(price)
    return Order(
        id=uuid.UUID(int=0x5AFE_0000_0000_4000_8000_0000_0000_0000 + n),
        symbol=symbol,
        side=side,
        qty=qty,
        price=unit,
        total=unit * qty,
        placed=dt.datetime(2026, 3, 14, 9, minute, n, tzinfo=UTC),
        status=status,
        priority=priority,
    )


orders = [
    _order(1, "ACME", Side.BUY, 10, "19.99", 1, Status.FILLED, Priority.NORMAL),
    _order(2, "ACME", Side.SELL, 4, "20.05", 3, Status.OPEN, Priority.HIGH),
    _order(3, "GLOBX", Side.BUY, 250, "0.4725", 7, Status.PARTIAL, Priority.LOW),
    _order(4, "INITECH", Side.BUY, 1, "1234.50", 12, Status.CANCELLED, Priority.NORMAL),
    _order(5, "GLOBX", Side.SELL, 100, "0.4800", 20, Status.OPEN, Priority.HIGH),
    _order(6, "ACME", Side.BUY, 7, "19.95", 25, Status.OPEN, Priority.LOW),
]
book = OrderBook(venue="XNAS", orders=orders, tick=Decimal("0.01"))

stats = {
    "requests": {"GET": 18234, "POST": 4211, "PUT": 97, "DELETE": 12},
    "by_route": {"/orders": 15110, "/orders/{id}": 6020, "/health": 1420, "/admin": 4},
    "errors": {"timeout": 17, "db": 3, "validation": 141},
    "latency_ms": [12.5, 8.25, 31.0, 9.75, 120.5, 14.0, 11.25, 7.5, 250.0, 10.0],
    "bytes_out": 987654321,
    "started": STARTED,
    "uptime": NOW - STARTED,
}
status_codes = collections.Counter(
    {200: 20100, 201: 1800, 204: 95, 400: 141, 404: 380, 429: 22, 500: 17, 503: 3}
)
recent = collections.deque(
    [
        ("GET", "/orders", 200, 11.5),
        ("POST", "/orders", 201, 24.0),
        ("GET", "/orders/{id}", 404, 3.25),
        ("GET", "/health", 200, 0.5),
        ("DELETE", "/orders/{id}", 204, 9.0),
    ],
    maxlen=5,
)
cache = {
    "user:42": CacheEntry(
        {"name": "ada", "tier": "gold"}, NOW + dt.timedelta(minutes=5), dt.timedelta(minutes=10), 31
    ),
    "user:7": CacheEntry(
        {"name": "bob", "tier": "free"}, NOW - dt.timedelta(seconds=30), dt.timedelta(minutes=10), 2
    ),
    "quote:ACME": CacheEntry(
        Decimal("20.01"),
        NOW + dt.timedelta(seconds=4, milliseconds=250),
        dt.timedelta(seconds=5),
        118,
    ),
    "fx:EURUSD": CacheEntry(
        Fraction(1087, 1000), NOW + dt.timedelta(hours=1), dt.timedelta(hours=2), 9
    ),
}
settings = Settings(
    service="orders",
    region=Region.EU_WEST,
    port=8443,
    workers=8,
    request_timeout=dt.timedelta(seconds=2, milliseconds=500),
    max_body=1048576,
    db_password=DB_PASSWORD,
    allowed_origins=["https://shop.example", "https://admin.example"],
)
config = ServiceConfig(
    name="orders-api",
    version=(3, 14, 1),
    api_token=API_TOKEN,
    retry_backoff=(0.1, 0.2, 0.4, 0.8),
    fee_rate=Decimal("0.0025"),
)
env = {"LOG_LEVEL": "INFO", "WEBHOOK_SECRET": WEBHOOK_SECRET, "SHARDS": "4"}
queues = {
    "email": collections.deque(["welcome:42", "receipt:1001", "receipt:1002"], maxlen=100),
    "webhooks": collections.deque(maxlen=50),
    "retries": collections.deque([3, 1, 4, 1, 5], maxlen=5),
}
routes = [
    Endpoint("GET", "/orders", "list_orders"),
    Endpoint("POST", "/orders", "create_order"),
    Endpoint("GET", "/orders/{id}", "get_order"),
    Endpoint("DELETE", "/orders/{id}", "cancel_order"),
]
peers = [
    Peer("db-primary", ipaddress.IPv4Address("10.0.3.17"), 5432),
    Peer("db-replica", ipaddress.IPv4Address("10.0.3.18"), 5432, 0.5),
    Peer("payments", ipaddress.IPv4Address("203.0.113.9"), 443, 2.0),
    Peer("metrics", ipaddress.IPv6Address("fd00::5"), 9090),
]
networks = {
    "internal": ipaddress.IPv4Network("10.0.0.0/16"),
    "office": ipaddress.IPv4Network("192.168.10.0/24"),
    "v6": ipaddress.IPv6Network("fd00::/64"),
}
sessions_by_user = collections.defaultdict(list)
sessions_by_user["ada"].extend(["s1", "s4"])
sessions_by_user["bob"].append("s2")
lru = collections.OrderedDict([("user:42", 3), ("quote:ACME", 1), ("user:7", 9)])
flags = SimpleNamespace(new_checkout=True, dark_mode=False, rollout_pct=25, beta_regions=["eu"])
wire = bytearray(b"HTTP/1.1 200 OK\r\n")
paths = {
    "log": PurePosixPath("/var/log/orders/app.log"),
    "config": PurePosixPath("/etc/orders/settings.toml"),
    "socket": PurePosixPath("/run/orders.sock"),
}
perms = Perm.READ | Perm.WRITE
histogram = array.array("i", [0, 3, 17, 42, 9, 1])
shard_range = range(0, 64, 16)
impedance = complex(3.5, -1.25)
fee_split = Fraction(3, 8)
# A fixed-offset zone rather than zoneinfo: its output must not depend on the machine's tz data.
CET = dt.timezone(dt.timedelta(hours=1), "CET")
maintenance = {
    "day": dt.date(2026, 3, 15),
    "start": dt.time(2, 30),
    "window_start": dt.datetime(2026, 3, 15, 2, 30, tzinfo=CET),
    "length": dt.timedelta(minutes=45),
}
layers = collections.ChainMap({"timeout": 5}, {"timeout": 30, "retries": 3})
frame = b"\x00\x00\x12\x01\x04HEADERS"
state = {
    "orders": orders,
    "book": book,
    "stats": stats,
    "cache": cache,
    "settings": settings,
    "config": config,
    "routes": routes,
    "peers": peers,
}

# What the corpus exposes to its probes, by the names the probes use.
EXPOSED = (
    "book", "cache", "config", "env", "fee_split", "flags", "frame", "histogram", "impedance",
    "layers", "lru", "maintenance", "networks", "orders", "paths", "peers", "perms", "queues",
    "recent", "routes",
    "sessions_by_user", "settings", "shard_range", "state", "stats", "status_codes", "wire",
)  # fmt: skip
