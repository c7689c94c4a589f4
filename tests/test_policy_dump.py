"""The effective policy as YAML: it re-parses to the same policy, and reads like one."""

from __future__ import annotations

import math
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeprobe.policy.dump import dump_policy, format_duration, format_size
from safeprobe.policy.loading import parse_policy
from safeprobe.policy.units import parse_duration, parse_size
from tests.harness import REPO
from tests.strategies import policy_dicts

PATH = "/srv/app/policies/app.yaml"


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(policy_dicts())
def test_a_dumped_policy_parses_to_the_same_policy(data: dict[str, object]) -> None:
    """What `safeprobe check` prints is the policy itself, not an approximation of it."""
    policy = parse_policy(yaml.safe_dump(data), path=PATH)
    assert parse_policy(dump_policy(policy), path=PATH) == policy


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_a_formatted_duration_reads_back_exactly(seconds: float) -> None:
    """A unit is used only when it is exact; otherwise the seconds are written as a number."""
    text = format_duration(seconds)
    assert parse_duration(text) == seconds


@given(st.integers(min_value=0, max_value=2**40))
def test_a_formatted_size_reads_back_exactly(size: int) -> None:
    """Sizes keep every byte whatever unit they are written in."""
    assert parse_size(format_size(size)) == size


def test_durations_and_sizes_take_the_largest_exact_unit() -> None:
    """Operators read 500ms and 64KiB, not 0.5 and 65536."""
    assert [format_duration(s) for s in (0.5, 1.0, 90.0, 120.0, 7200.0, 0.0)] == [
        "500ms",
        "1s",
        "90s",
        "2m",
        "2h",
        "0s",
    ]
    assert [format_size(n) for n in (65536, 256 * 1024**2, 1024**3, 100, 0)] == [
        "64KiB",
        "256MiB",
        "1GiB",
        "100B",
        "0B",
    ]
    assert format_duration(0.0001234) == 0.0001234
    assert math.isclose(parse_duration(format_duration(1 / 3)), 1 / 3)


def test_values_equal_to_their_default_are_marked() -> None:
    """A reader sees at a glance what the policy sets and what it leaves to safeprobe."""
    policy = parse_policy(
        "version: 1\nprobe: {path: p.py}\nlimits: {timeout: 2s}\nexpose:\n"
        "  app: {target: '__main__:app', allow: [data]}\n",
        path=PATH,
    )
    lines = [re.sub(r" +#", " #", line) for line in dump_policy(policy).splitlines()]
    assert "  timeout: 2s" in lines
    assert "  max_steps: 1000000 # default" in lines
    assert "  max_output: 64KiB # default" in lines
    assert "isolation: fork # default" in lines
    assert "    target: __main__:app" in lines
    assert "    allow: [data]" in lines
    assert "  path: /srv/app/policies/p.py" in lines
    assert "redact: [] # default" in lines


def test_no_exposures_is_written_as_an_empty_mapping() -> None:
    """An empty section is still shown, so the reader knows nothing is exposed."""
    policy = parse_policy("version: 1\nprobe: {path: p.py}\n", path=PATH)
    assert re.search(r"^expose: \{\} +# default$", dump_policy(policy), re.MULTILINE)


def test_the_seed_policy_reads_as_its_file_does() -> None:
    """Keys come in the documented order with their YAML names."""
    path = REPO / "examples/seed/policies/seed.yaml"
    text = dump_policy(parse_policy(path.read_text(), path=str(path)))
    keys = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert keys == [
        "version",
        "name",
        "trigger",
        "probe",
        "probes",
        "expose",
        "facts",
        "redact",
        "isolation",
        "output",
        "output_dir",
        "limits",
        "audit",
    ]
    assert "  cooldown: 500ms" in text.splitlines()
