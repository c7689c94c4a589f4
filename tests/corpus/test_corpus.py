"""The corpus: each probe prints through safeprobe exactly what plain CPython prints.

For every probe in probes.PROBES the expected output is what ``exec`` of the same source prints
in plain CPython against the same objects (examples/orders/orders_service.py), with the repr and str of each known
secret replaced by ``<redacted>``; the actual output is ``run_probe`` with a policy exposing
those objects, in ``isolation: thread`` and in the default (fork). Both must be byte-identical
and the outcome ok. Issue 13, item 3: keep the corpus growing as a regression suite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import decimal
import enum
import importlib.util
import io
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeprobe import Outcome, run_probe
from tests.corpus.probes import PROBES
from tests.harness import write_policy

MODULE = "safeprobe_corpus_service"
SERVICE_PATH = Path(__file__).resolve().parents[2] / "examples" / "orders" / "orders_service.py"
REDACTED = "<redacted>"

# What plain Python needs besides the exposed objects to run the probes: spellings of
# safeprobe's own builtins (typename is what ``type(v).__name__`` gives; hasattr is Python's),
# and the stdlib classes the probes test against with isinstance, under the names a REPL user
# has after ``from decimal import Decimal`` and the like.
PLAIN_EXTRAS: dict[str, object] = {
    "typename": lambda v: type(v).__name__,
    # safeprobe's asdict(): a named tuple's _asdict(), a dataclass's fields, shallow.
    "asdict": lambda v: (
        v._asdict()
        if hasattr(v, "_asdict")
        else {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    ),
    "hasattr": hasattr,
    "Decimal": decimal.Decimal,
    "datetime": datetime.datetime,
    "timedelta": datetime.timedelta,
    "UUID": uuid.UUID,
    "Enum": enum.Enum,
}


@pytest.fixture(scope="module")
def service() -> Iterator[types.ModuleType]:
    """The fixture module, registered in sys.modules (where exposures are looked up) for the
    module's tests and removed after."""
    spec = importlib.util.spec_from_file_location(MODULE, SERVICE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[MODULE]


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Plain output as safeprobe must print it: each secret's repr (inside a container or a
    dataclass repr) and then its str (printed alone) become ``<redacted>``."""
    for secret in secrets:
        text = text.replace(repr(secret), REDACTED).replace(secret, REDACTED)
    return text


def _exposed(service: types.ModuleType) -> dict[str, object]:
    return {name: getattr(service, name) for name in service.EXPOSED}


def fixture_text(service: types.ModuleType) -> str:
    """Every exposed value as plain Python shows it: equal before and after a run when the
    run changed nothing (every fixture value has a repr that shows its whole state)."""
    return repr(_exposed(service))


def plain_output(service: types.ModuleType, source: str) -> str:
    """What plain CPython prints running ``source`` against the fixture, calling
    ``execute()`` afterwards when the probe defines it (as safeprobe does)."""
    namespace: dict[str, object] = {**_exposed(service), **PLAIN_EXTRAS}
    before = fixture_text(service)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        exec(compile(source, "probe.py", "exec"), namespace)
        execute = namespace.get("execute")
        if callable(execute):
            execute()
    # A probe that changed the fixture would change every later probe's expectation.
    assert fixture_text(service) == before, "the probe changed the fixture in plain Python"
    return captured.getvalue()


def safeprobe_run(
    service: types.ModuleType, tmp_path: Path, source: str, isolation: str | None
) -> tuple[Outcome, str, str]:
    """Run ``source`` through run_probe with a policy exposing every fixture name."""
    policy: dict[str, object] = {
        "version": 1,
        "probe": {"path": "probe.py"},
        "expose": {
            name: {"target": f"{MODULE}:{name}", "allow": ["**"]} for name in service.EXPOSED
        },
        "audit": {"path": "audit.jsonl"},
        "limits": {"timeout": "5s"},
    }
    if isolation is not None:
        policy["isolation"] = isolation
    attempt = run_probe(write_policy(tmp_path, policy, source))
    return attempt.outcome, attempt.output, attempt.reason


def test_redaction_of_the_expected_output_replaces_each_secret_exactly(
    service: types.ModuleType,
) -> None:
    """The expected-output substitution hides a secret printed alone and inside a repr, and
    changes nothing else."""
    secrets = service.SECRETS
    config = plain_output(service, "print(config)\nprint(config.api_token)")
    assert redact(config, secrets) == (
        "ServiceConfig(name='orders-api', version=(3, 14, 1), api_token=<redacted>, "
        "retry_backoff=(0.1, 0.2, 0.4, 0.8), fee_rate=Decimal('0.0025'))\n<redacted>\n"
    )
    env = plain_output(service, "print(env)")
    assert redact(env, secrets) == (
        "{'LOG_LEVEL': 'INFO', 'WEBHOOK_SECRET': <redacted>, 'SHARDS': '4'}\n"
    )
    plain = plain_output(service, "print(settings.service, settings.port)")
    assert redact(plain, secrets) == plain == "orders 8443\n"


def test_corpus_has_at_least_100_probes_and_each_prints() -> None:
    """The corpus is the size issue 13 asks for, and no probe is silent (an empty expected
    output would let a probe that printed nothing pass)."""
    assert len(PROBES) >= 100
    assert all("print(" in source for source in PROBES.values())


@pytest.mark.parametrize("isolation", ["thread", None], ids=["thread", "fork"])
@pytest.mark.parametrize("name", list(PROBES))
def test_probe_prints_what_plain_python_prints(
    service: types.ModuleType,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    name: str,
    isolation: str | None,
) -> None:
    """safeprobe prints, byte for byte, what plain CPython prints for the same probe on the
    same objects, secrets redacted, in both isolation modes."""
    source = PROBES[name] + "\n"
    expected = redact(plain_output(service, source), service.SECRETS)
    assert expected, "a probe that prints nothing proves nothing"
    before = fixture_text(service)
    outcome, output, reason = safeprobe_run(service, tmp_path, source, isolation)
    assert fixture_text(service) == before, "the probe changed the host's objects"
    # The operator's report (stderr) carries the exception's text, which the reason does not.
    report = capfd.readouterr().err
    assert (outcome, output) == (Outcome.OK, expected), f"{reason}\n{report}"


# Known wrong answers, kept as strict expected failures so that a fix shows (it turns them
# into unexpected passes, which fail): a dict's keys(), values() and items() come to a probe
# as lists, so they print as lists, not as dict_keys([...]) and the like. A real dict view
# of a host dict is a live window whose set operators hash in C, unguarded; a snapshot type
# that prints as the view and refuses what the view would refuse is the fix, not made yet.
KNOWN_WRONG: dict[str, str] = {
    "dict_keys_printed": "print(stats['requests'].keys())",
    "dict_values_printed": "print(stats['requests'].values())",
    "dict_items_printed": "print(stats['requests'].items())",
    "own_dict_items_printed": "print({'a': 1}.items())",
}


@pytest.mark.xfail(strict=True, reason="dict views print as lists (see KNOWN_WRONG)")
@pytest.mark.parametrize("name", list(KNOWN_WRONG))
def test_known_wrong_answers_still_differ_from_plain_python(
    service: types.ModuleType, tmp_path: Path, name: str
) -> None:
    """A known wrong answer, thread isolation: expected to print what plain CPython prints,
    and known not to yet."""
    source = KNOWN_WRONG[name] + "\n"
    expected = plain_output(service, source)
    outcome, output, reason = safeprobe_run(service, tmp_path, source, "thread")
    assert (outcome, output) == (Outcome.OK, expected), reason
