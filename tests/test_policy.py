"""Policy models and YAML loading: values, defaults, and errors that name file, line, field."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from safeprobe.attempt import PROBE_NAMES
from safeprobe.audit.chain import MAX_RECORD_BYTES
from safeprobe.errors import PolicyError
from safeprobe.policy.defaults import AUDIT_RECORD_CAP_BYTES, MAX_INCLUDED_OUTPUT_BYTES
from safeprobe.policy.loading import load_policy, parse_policy
from safeprobe.policy.models import (
    AuditConfig,
    Exposure,
    Limits,
    Policy,
    ProbeSpec,
    Trigger,
    policy_json_schema,
)
from safeprobe.policy.named_probes import DEFAULT_PROBE, request_code
from safeprobe.policy.units import SIGNALS_ALLOWED, normalize_signal, parse_duration, parse_size
from tests.strategies import policy_dicts

REPO = Path(__file__).resolve().parent.parent
POLICY_PATH = "/etc/safeprobe/app.yaml"

# DESIGN.md's target shape, with the keys of version 1 (no `facts` yet) and every key set.
DESIGN_EXAMPLE = """\
version: 1
name: seed-example                # label in every audit record
trigger:
  signal: SIGQUIT                 # or SIGUSR1 / SIGUSR2
  cooldown: 1s
  allowed_uids: [0, 1000]         # optional; enforced when the sender is known
  mode: listener
probe:
  path: ../examples/seed/probes/bar.py   # relative to this file
  owners: [root, current]         # who may own the probe file
  sha256: []                      # optional pins; empty = any content
  max_size: 64KiB
expose:
  my_object:
    target: "__main__:my_object"  # module:attribute.path, looked up in sys.modules
    allow: ["data", "data.*"]     # attribute paths the probe may read
    evaluate: []                  # properties / zero-arg methods the policy author vouches for
redact: ["*password*", "*token*", "*secret*"]
limits:
  timeout: 500ms
  max_steps: 1000000
  max_output: 64KiB
  max_items: 100000               # largest container a builtin may build or walk
  max_depth: 4
  max_repr_items: 50
  max_str_chars: 120
isolation: fork                   # default; thread is an opt-in for hosts that cannot fork
output: stderr
audit:
  path: ./audit.jsonl
  hmac_key_file: null
  include_output: false
  fsync: true
  syslog: null
"""

MINIMAL = "version: 1\nprobe:\n  path: probe.py\n"


def policy_error(text: str, path: str = POLICY_PATH) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, path=path)
    return caught.value


# -- whole policies ---------------------------------------------------------------------------


def test_design_example_policy_loads_every_value() -> None:
    """The full example from DESIGN.md loads, and each key lands in its field."""
    policy = parse_policy(DESIGN_EXAMPLE, path=POLICY_PATH)
    assert policy.version == 1
    assert policy.name == "seed-example"
    assert policy.trigger == Trigger(signal="SIGQUIT", cooldown=1.0, allowed_uids=(0, 1000))
    assert policy.probe == ProbeSpec(
        path="/etc/examples/seed/probes/bar.py",
        owners=("root", "current"),
        sha256=(),
        max_size=64 * 1024,
    )
    assert dict(policy.expose) == {
        "my_object": Exposure(target="__main__:my_object", allow=("data", "data.*"))
    }
    assert policy.redact == ("*password*", "*token*", "*secret*")
    assert policy.isolation == "fork"
    assert policy.output == "stderr"
    assert policy.limits == Limits(
        timeout=0.5,
        max_steps=1_000_000,
        max_output=64 * 1024,
        max_items=100_000,
        max_depth=4,
        max_repr_items=50,
        max_str_chars=120,
    )
    assert policy.audit == AuditConfig(path="/etc/safeprobe/audit.jsonl")


def test_seed_example_policy_file_loads() -> None:
    """The policy shipped in examples/seed loads from disk and points at the seed probe."""
    policy = load_policy(REPO / "examples" / "seed" / "policies" / "seed.yaml")
    assert policy.name == "seed"
    assert policy.trigger.cooldown_s == 0.5
    assert policy.probe.path == str(REPO / "examples" / "seed" / "probes" / "bar.py")
    assert policy.audit.path == str(REPO / "examples" / "seed" / "audit.jsonl")
    assert policy.expose["my_object"].allow == ("data",)


def test_minimal_policy_takes_every_default() -> None:
    """A policy of version and probe.path gets the documented default for everything else."""
    policy = parse_policy(MINIMAL, path=POLICY_PATH)
    assert policy.name == "app"
    assert policy.trigger.signal == "SIGQUIT"
    assert policy.trigger.cooldown_s == 1.0
    assert policy.trigger.allowed_uids is None
    assert policy.trigger.mode == "listener"
    assert policy.probe.owners == ("root", "current")
    assert policy.probe.sha256 == ()
    assert policy.probe.max_bytes == 32 * 1024
    assert dict(policy.expose) == {}
    assert policy.redact == ()
    assert policy.isolation == "fork"
    assert policy.output == "stderr"
    assert policy.limits.timeout_s == 0.5
    assert policy.limits.max_steps == 1_000_000
    assert policy.limits.max_output_bytes == 64 * 1024
    assert policy.limits.max_items == 100_000
    assert policy.limits.max_depth == 3
    assert policy.limits.max_repr_items == 100
    assert policy.limits.max_str_chars == 256
    assert policy.audit.path == "/etc/safeprobe/audit.jsonl"
    assert policy.audit.hmac_key_file is None
    assert policy.audit.include_output is False
    assert policy.audit.fsync is True
    assert policy.audit.syslog is None


def test_policy_and_its_parts_are_immutable() -> None:
    """Nothing can change a loaded policy: models are frozen and expose is read-only."""
    policy = parse_policy(DESIGN_EXAMPLE, path=POLICY_PATH)
    with pytest.raises(ValidationError):
        policy.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.expose["extra"] = Exposure(target="__main__:x")  # type: ignore[index]
    assert isinstance(policy.expose["my_object"].allow, tuple)


def test_dump_by_alias_uses_yaml_key_names() -> None:
    """A JSON dump (what `safeprobe check` prints) uses the keys a user writes."""
    dumped = parse_policy(DESIGN_EXAMPLE, path=POLICY_PATH).model_dump(mode="json", by_alias=True)
    assert dumped["trigger"]["cooldown"] == 1.0
    assert dumped["probe"]["max_size"] == 64 * 1024
    assert dumped["limits"]["timeout"] == 0.5
    assert dumped["limits"]["max_output"] == 64 * 1024
    assert dumped["expose"] == {
        "my_object": {"target": "__main__:my_object", "allow": ["data", "data.*"], "evaluate": []}
    }
    json.dumps(dumped)


# -- durations, sizes, signals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2.0),
        ("1.5s", 1.5),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("0s", 0.0),
        ("0", 0.0),
        (" 250 ms ", 0.25),
        (".5s", 0.5),
        ("2d", 172800.0),
        ("500MS", 0.5),
        ("1S", 1.0),
        ("2H", 7200.0),
        (0, 0.0),
        (2, 2.0),
        (0.25, 0.25),
    ],
)
def test_duration_is_read_as_seconds(text: str | float, seconds: float) -> None:
    """Durations with a unit, zero, and plain numbers of seconds are understood."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "5",
        "1.5",
        "-1s",
        "-0.5",
        -1,
        float("inf"),
        float("nan"),
        "1 sec",
        "1 SEC",
        "",
        "s",
        "1e3s",
        "1w",
    ],
)
def test_duration_refuses_bare_negative_and_unknown(text: str | float) -> None:
    """A unitless string, a negative, a non-finite number or an unknown unit is refused."""
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(text)


def test_duration_refuses_a_number_too_large_for_a_float() -> None:
    """An integer past float range is a ValueError, not an OverflowError."""
    with pytest.raises(ValueError, match="too large"):
        parse_duration(10**400)


def test_number_too_long_to_read_is_a_yaml_error() -> None:
    """An integer past Python's digit limit is reported at its line, as a YAML problem."""
    error = policy_error(MINIMAL + "limits:\n  max_steps: " + "9" * 5000 + "\n")
    assert (error.line, error.field) == (5, "yaml")


def test_duration_refuses_bool() -> None:
    """`true` is not one second."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(True)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64KiB", 64 * 1024),
        ("1MiB", 1024**2),
        ("1GiB", 1024**3),
        ("100B", 100),
        ("10KB", 10_000),
        ("10MB", 10_000_000),
        ("1.5KiB", 1536),
        ("64kib", 64 * 1024),
        ("1KIB", 1024),
        ("2mB", 2_000_000),
        ("0", 0),
        (4096, 4096),
        (0, 0),
    ],
)
def test_size_is_read_as_bytes(text: str | int, size: int) -> None:
    """Binary and decimal units, and plain ints as bytes, are understood."""
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("duration", "size"), [("500ms", "64KiB"), ("500MS", "64KIB"), ("500Ms", "64kib")]
)
def test_durations_and_sizes_follow_one_case_rule(duration: str, size: str) -> None:
    """Units are read case-insensitively in both, so no spelling works in one and not the
    other; the documented spellings (500ms, 64KiB) are the ones `check` prints."""
    assert (parse_duration(duration), parse_size(size)) == (0.5, 64 * 1024)


@pytest.mark.parametrize("text", ["64", "-1KiB", -1, "1.5B", "0.3B", "10XB", "KiB", "", "1 2KB"])
def test_size_refuses_bare_negative_fractional_and_unknown(text: str | int) -> None:
    """A unitless string, a negative, a fraction of a byte or an unknown unit is refused."""
    with pytest.raises(ValueError, match=r"size|negative|whole"):
        parse_size(text)


@pytest.mark.parametrize("value", [True, 1.5])
def test_size_refuses_bool_and_float(value: object) -> None:
    """Sizes are whole bytes; neither `true` nor 1.5 is one."""
    with pytest.raises(ValueError, match="size"):
        parse_size(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("QUIT", "SIGQUIT"),
        ("SIGQUIT", "SIGQUIT"),
        ("sigquit", "SIGQUIT"),
        (" usr1 ", "SIGUSR1"),
        ("SIGUSR2", "SIGUSR2"),
        ("hup", "SIGHUP"),
        (int(signal.SIGQUIT), "SIGQUIT"),
        (str(int(signal.SIGUSR1)), "SIGUSR1"),
    ],
)
def test_signal_is_normalized_to_its_sig_name(value: str | int, name: str) -> None:
    """Signals are accepted as QUIT, SIGQUIT, sigquit or 3, as the CLI accepts them."""
    assert normalize_signal(value) == name


@pytest.mark.parametrize(
    "value", ["SIGKILL", "STOP", "INT", "SIGTERM", "SEGV", 9, 15, 0, 999, "NOPE", "", True]
)
def test_signal_outside_the_allowlist_is_refused(value: str | int) -> None:
    """Signals that cannot be caught or mean something else to hosts are refused."""
    with pytest.raises(ValueError, match=r"signal|not allowed"):
        normalize_signal(value)


def test_allowed_signals_are_the_four_documented() -> None:
    """The allowlist is exactly QUIT, USR1, USR2 and HUP."""
    assert frozenset({"SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGHUP"}) == SIGNALS_ALLOWED


def test_policy_signal_is_stored_normalized() -> None:
    """`signal: usr1` in a policy is stored as SIGUSR1, the name getattr(signal, ...) takes."""
    policy = parse_policy(MINIMAL + "trigger:\n  signal: usr1\n", path=POLICY_PATH)
    assert policy.trigger.signal == "SIGUSR1"


# -- errors name file, line and field -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (MINIMAL + "expsoe: {}\n", 4, "expsoe"),
        (MINIMAL + "limits:\n  max_steps: 10\n  timeot: 1s\n", 6, "limits.timeot"),
        ("version: 1\nprobe:\n  path: p.py\n  size: 1KiB\n", 4, "probe.size"),
        (
            MINIMAL + "expose:\n  obj:\n    target: '__main__:obj'\n    alow: [data]\n",
            7,
            "expose.obj.alow",
        ),
        (MINIMAL + "audit: {path: a.jsonl, sink: syslog}\n", 4, "audit.sink"),
    ],
)
def test_unknown_key_is_reported_at_its_line(text: str, line: int, field: str) -> None:
    """A typo at any depth fails loudly, naming the file, the key's line and its path."""
    error = policy_error(text)
    assert (error.path, error.line, error.field) == (POLICY_PATH, line, field)
    assert error.problem.startswith("unknown key")
    assert str(error).startswith(f"{POLICY_PATH}:{line}: {field}: ")


def test_unknown_key_suggests_and_lists_known_keys() -> None:
    """The problem names the closest known key and lists them all, in YAML spelling."""
    error = policy_error(MINIMAL + "limits:\n  timeot: 1s\n")
    assert "did you mean 'timeout'?" in error.problem
    assert "timeout, max_steps, max_output, max_items" in error.problem


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (MINIMAL + "limits:\n  max_steps: many\n", 5, "limits.max_steps", "whole number"),
        (MINIMAL + "limits:\n  max_steps: true\n", 5, "limits.max_steps", "whole number"),
        (MINIMAL + "limits:\n  timeout: 500\n", 5, "limits.timeout", "at most 60s"),
        (MINIMAL + "limits:\n  timeout: fast\n", 5, "limits.timeout", "duration"),
        (MINIMAL + "limits: 5\n", 4, "limits", "mapping"),
        (MINIMAL + "audit:\n  fsync: 'no'\n", 5, "audit.fsync", "true or false"),
        (MINIMAL + "redact: '*token*'\n", 4, "redact", "list"),
        (
            MINIMAL + "trigger:\n  allowed_uids:\n    - 0\n    - root\n",
            7,
            "trigger.allowed_uids[1]",
            "whole number",
        ),
        (MINIMAL + "trigger:\n  mode: 1\n", 5, "trigger.mode", "string"),
        ("version: 1\nprobe:\n  path: [a, b]\n", 3, "probe.path", "string"),
        (MINIMAL + "name: 7\n", 4, "name", "string"),
    ],
)
def test_wrong_type_is_reported_at_the_value_line(
    text: str, line: int, field: str, words: str
) -> None:
    """A value of the wrong type names its own line and field, and what was expected."""
    error = policy_error(text)
    assert (error.line, error.field) == (line, field)
    assert words in error.problem


def test_several_problems_report_the_first_in_file_order() -> None:
    """With more than one problem, the earliest line is reported and the rest counted."""
    error = policy_error(MINIMAL + "limits:\n  max_depth: 0\n  timeout: 90s\n")
    assert (error.line, error.field) == (5, "limits.max_depth")
    assert "(and 1 more problem)" in error.problem


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("version: 1\nprobe: [\n", 3),
        ("version: 1\nprobe:\n  path: p.py\n   owners: [root]\n", 4),
        ("version: 1\n\tprobe: x\n", 2),
        ("version: 1\nprobe: {path: 'p.py'\n", 3),
        ("version: 1\n---\nversion: 1\n", 2),
        ("version: 1\nname: \x00\n", 2),
        ("version: 1\nprobe: *nowhere\n", 2),
    ],
)
def test_invalid_yaml_is_reported_at_its_line(text: str, line: int) -> None:
    """Broken YAML names the line PyYAML stopped at, under the field `yaml`."""
    error = policy_error(text)
    assert (error.line, error.field) == (line, "yaml")


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (MINIMAL + "version: 1\n", 4, "version"),
        (
            MINIMAL + "expose:\n  obj:\n    target: '__main__:obj'\n    allow: [a]\n"
            "    allow: [a, b]\n",
            8,
            "expose.obj.allow",
        ),
        (MINIMAL + "limits: {timeout: 1s, timeout: 2s}\n", 4, "limits.timeout"),
    ],
)
def test_duplicate_key_is_an_error(text: str, line: int, field: str) -> None:
    """Two equal keys are refused at the second, instead of PyYAML keeping the last one."""
    error = policy_error(text)
    assert (error.line, error.field) == (line, field)
    assert "duplicate key (first at line" in error.problem


@pytest.mark.parametrize(
    ("text", "line"),
    [(MINIMAL + "1: one\n", 4), (MINIMAL + "yes: true\n", 4), (MINIMAL + "? [a, b]\n: c\n", 4)],
)
def test_non_string_key_is_refused(text: str, line: int) -> None:
    """Keys are names: a number, boolean or list as a key is refused at its line."""
    error = policy_error(text)
    assert error.line == line
    assert "not a string" in error.problem


@pytest.mark.parametrize(
    "text",
    [
        MINIMAL + "name: 2024-01-01\n",
        MINIMAL + "redact: !!set {a, b}\n",
        MINIMAL + "name: !!binary aGVsbG8=\n",
        MINIMAL + "name: !custom x\n",
    ],
)
def test_yaml_types_a_policy_does_not_use_are_refused(text: str) -> None:
    """Dates, binary, sets and application tags are refused rather than coerced."""
    error = policy_error(text)
    assert error.line == 4
    assert "not used in policies" in error.problem


def test_missing_probe_names_the_top_of_the_policy() -> None:
    """A policy without probe is refused: field probe, line of the top-level mapping."""
    error = policy_error("version: 1\nname: x\n")
    assert (error.line, error.field) == (1, "probe")
    assert error.problem.startswith("required key is missing")


def test_missing_probe_path_names_the_probe_key_line() -> None:
    """probe without path is refused at the `probe:` line, as probe.path."""
    error = policy_error("version: 1\nname: x\nprobe:\n  owners: [root]\n")
    assert (error.line, error.field) == (3, "probe.path")


def test_missing_version_is_an_error() -> None:
    """version is required, so a future format is never read as version 1."""
    error = policy_error("probe:\n  path: p.py\n")
    assert error.field == "version"


@pytest.mark.parametrize("version", ["2", "'1'", "true", "1.0"])
def test_only_version_1_is_accepted(version: str) -> None:
    """Version is the integer 1: not 2, not the string '1', not true."""
    error = policy_error(f"version: {version}\nprobe:\n  path: p.py\n")
    assert (error.line, error.field) == (1, "version")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n...\n", "~\n"])
def test_empty_policy_is_an_error(text: str) -> None:
    """An empty file is refused under the field `policy`."""
    error = policy_error(text)
    assert error.field == "policy"
    assert error.line in (None, 1)


@pytest.mark.parametrize(
    ("text", "kind"), [("- version\n- 1\n", "a list"), ("just text\n", "a single value")]
)
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    """A list or a scalar at the top is refused at line 1, saying what was found."""
    error = policy_error(text)
    assert (error.line, error.field) == (1, "policy")
    assert kind in error.problem


def test_output_file_resolves_its_folder_against_the_policy() -> None:
    policy = parse_policy(MINIMAL + "output: file\noutput_dir: out\n", path="/p/app.yaml")
    assert (policy.output, policy.output_dir) == ("file", "/p/out")
    assert parse_policy(MINIMAL, path="/p/app.yaml").output_dir == "/p/results"


def test_named_probes_resolve_and_answer_their_request_codes() -> None:
    text = MINIMAL + "probes:\n  threads: {path: t.py}\n  cache-stats: {path: c.py}\n"
    policy = parse_policy(text, path="/p/app.yaml")
    assert {n: s.path for n, s in policy.probes.items()} == {
        "threads": "/p/t.py",
        "cache-stats": "/p/c.py",
    }
    assert policy.probe_named_by(0) == DEFAULT_PROBE
    assert policy.probe_for(DEFAULT_PROBE) is policy.probe
    for name in ("threads", "cache-stats"):
        code = request_code(name)
        assert 0 < code < 2**31
        assert policy.probe_named_by(code) == name
        assert policy.probe_for(name) == policy.probes[name]
    assert policy.probe_named_by(12345) is None
    assert policy.probe_for("../etc/passwd") is None


@given(name=st.from_regex(r"[a-z][a-z0-9_-]{0,62}", fullmatch=True))
def test_every_valid_probe_name_has_a_nonzero_31_bit_code(name: str) -> None:
    code = request_code(name)
    assert (code == 0) == (name == DEFAULT_PROBE)
    assert 0 <= code < 2**31


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("probes:\n  Threads: {path: t.py}\n", "probes.Threads", "not a probe name"),
        ("probes:\n  default: {path: t.py}\n", "probes.default", "not a probe name"),
        ("probes:\n  ../x: {path: t.py}\n", "probes.../x", "not a probe name"),
        ("probes:\n  t: {path: t.py, color: red}\n", "probes.t.color", "unknown key"),
        ("probes:\n  t: {}\n", "probes.t.path", "required"),
        (
            "trigger: {mode: handler}\nprobes:\n  t: {path: t.py}\n",
            "policy",
            "needs trigger.mode: listener",
        ),
        (
            "trigger: {allowed_uids: [0]}\nprobes:\n  t: {path: t.py}\n",
            "policy",
            "cannot be combined with trigger.allowed_uids",
        ),
        ("output: syslog\n", "output", "'stderr' or 'file'"),
    ],
)
def test_bad_named_probes_and_outputs_are_refused(text: str, field: str, problem: str) -> None:
    error = policy_error(MINIMAL + text)
    assert error.field == field
    assert problem in error.problem


def test_audit_syslog_defaults_to_the_local_socket_auth_facility_and_fail_closed() -> None:
    """`syslog: {}` means /dev/log, facility auth, required (the safe choice)."""
    policy = parse_policy(MINIMAL + "audit:\n  syslog: {}\n", path="/p/policy.yaml")
    syslog = policy.audit.syslog
    assert syslog is not None
    assert (syslog.address, syslog.facility, syslog.required, syslog.timeout_s) == (
        "/dev/log",
        "auth",
        True,
        1.0,
    )


@pytest.mark.parametrize(
    "address",
    ["/run/rsyslog.sock", "udp://127.0.0.1:514", "tcp://logs.example:6514", "udp://[::1]:514"],
)
def test_audit_syslog_accepts_socket_paths_and_udp_tcp_addresses(address: str) -> None:
    text = MINIMAL + f"audit:\n  syslog:\n    address: '{address}'\n    facility: local3\n"
    syslog = parse_policy(text, path="/p/policy.yaml").audit.syslog
    assert syslog is not None
    assert (syslog.address, syslog.facility) == (address, "local3")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("syslog: true", "audit.syslog"),
        ("syslog: udp://x:514", "audit.syslog"),
        ("syslog: {address: 'relative/sock'}", "audit.syslog.address"),
        ("syslog: {address: 'http://x:514'}", "audit.syslog.address"),
        ("syslog: {address: 'udp://x:99999'}", "audit.syslog.address"),
        ("syslog: {address: 'tcp://x'}", "audit.syslog.address"),
        ("syslog: {facility: kern}", "audit.syslog.facility"),
        ("syslog: {required: 'yes'}", "audit.syslog.required"),
        ("syslog: {host: localhost}", "audit.syslog.host"),
    ],
)
def test_audit_syslog_refuses_what_it_cannot_send_to(body: str, field: str) -> None:
    """Bad addresses, facilities a process may not claim (kern), unknown keys: errors."""
    error = policy_error(MINIMAL + f"audit:\n  {body}\n")
    assert error.field == field
    assert error.line == 5


def test_problem_never_echoes_a_long_value() -> None:
    """A long key or value is cut in the error, which stays one short line."""
    long_text = "x" * 5000
    for text in (MINIMAL + f"{long_text}: 1\n", MINIMAL + f"trigger:\n  signal: {long_text}\n"):
        error = policy_error(text)
        assert long_text not in str(error)
        assert len(str(error)) < 400


def test_unprintable_key_is_shown_escaped() -> None:
    """A key holding a terminal escape is shown as a repr, not sent raw to the terminal."""
    error = policy_error(MINIMAL + '"\\e[31mred": 1\n')
    assert "\x1b" not in str(error)


def test_oversized_policy_text_is_refused() -> None:
    """More than 1 MiB of text is not a policy; it is refused before YAML parsing."""
    error = policy_error(MINIMAL + "#" * (1024 * 1024))
    assert (error.line, error.field) == (None, "file")


def test_deeply_nested_yaml_is_an_error() -> None:
    """Nesting deep enough to exhaust the parser's recursion is a PolicyError."""
    error = policy_error(MINIMAL + "redact: " + "[" * 5000 + "]" * 5000 + "\n")
    assert error.field in ("yaml", "redact")


def test_merge_keys_are_validated_like_written_keys() -> None:
    """Values brought in by a YAML merge key are checked like any other."""
    text = "version: 1\nprobe: &p {path: p.py}\nexpose:\n  obj: {<<: *p, target: 'a:b'}\n"
    error = policy_error(text)
    assert (error.line, error.field) == (2, "expose.obj.path")


# -- field rules --------------------------------------------------------------------------------


def expose_policy(name: str = "obj", target: str = "__main__:obj", allow: str = "[]") -> str:
    return MINIMAL + f"expose:\n  {name}:\n    target: '{target}'\n    allow: {allow}\n"


@pytest.mark.parametrize("name", ["obj", "my_object", "Service2", "x"])
def test_exposure_name_may_be_a_public_identifier(name: str) -> None:
    """Plain public names are accepted as exposure names."""
    assert name in parse_policy(expose_policy(name), path=POLICY_PATH).expose


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("_private", "starts with '_'"),
        ("print", "shadow"),
        ("len", "shadow"),
        ("range", "shadow"),
        ("execute", "shadow"),
        ("KeyError", "shadow"),
        ("class", "keyword"),
        ("'1x'", "not a Python name"),
        ("'a-b'", "not a Python name"),
        ("'a.b'", "not a Python name"),
        ("'é'", "not a Python name"),
    ],
)
def test_exposure_name_must_be_a_free_public_identifier(name: str, words: str) -> None:
    """Private names, keywords, non-identifiers and probe builtins are refused at the key."""
    error = policy_error(expose_policy(name))
    assert error.line == 5
    assert error.field.startswith("expose.")
    assert words in error.problem


def test_reserved_names_cover_probe_builtins_and_keywords_are_refused_too() -> None:
    """The reserved set holds the probe's builtins; keywords are refused on their own."""
    assert {"print", "len", "str", "int", "repr", "range", "sorted", "execute"} <= PROBE_NAMES
    error = policy_error(expose_policy("None"))
    assert "keyword" in error.problem


def test_every_name_a_probe_has_is_refused_as_an_exposure_name() -> None:
    """The policy reserves exactly attempt.PROBE_NAMES, the list the sandbox is checked
    against (tests/test_stdlib_values.py), so no exposure shadows what a probe calls."""
    for name in sorted(PROBE_NAMES):
        error = policy_error(expose_policy(name))
        assert "would shadow a name the probe already has" in error.problem, name


@pytest.mark.parametrize(
    "target",
    ["__main__:my_object", "app.models:registry.cache", "a:b.c.d", "pkg.sub_mod:Item2"],
)
def test_valid_target_is_accepted(target: str) -> None:
    """module:attribute.path with public names is accepted as written."""
    policy = parse_policy(expose_policy(target=target), path=POLICY_PATH)
    assert policy.expose["obj"].target == target


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("my_object", "module:attribute.path"),
        ("__main__:", "module:attribute.path"),
        (":obj", "empty"),
        ("a:b:c", "module:attribute.path"),
        ("_thread:obj", "starts with '_'"),
        ("__main__:obj._secret", "starts with '_'"),
        ("__main__:obj.__class__", "starts with '_'"),
        ("__builtins__:open", "starts with '_'"),
        ("app..x:obj", "empty"),
        ("app:obj.", "empty"),
        ("app:obj.1", "not a Python name"),
        ("app:obj.*", "not a Python name"),
        ("app:class", "keyword"),
        ("my-app:obj", "not a Python name"),
    ],
)
def test_invalid_target_is_refused(target: str, words: str) -> None:
    """A target that is not module:attr.path of public names is refused at its line."""
    error = policy_error(expose_policy(target=target))
    assert (error.line, error.field) == (6, "expose.obj.target")
    assert words in error.problem


@pytest.mark.parametrize("allow", ["[data]", "['data.*']", "['**']", "['a.**.b', '*.name']", "[]"])
def test_valid_allow_patterns_are_accepted(allow: str) -> None:
    """Names, * (one name) and ** (any depth) are accepted as allow segments."""
    parse_policy(expose_policy(allow=allow), path=POLICY_PATH)


@pytest.mark.parametrize(
    ("allow", "index", "words"),
    [
        ("[data, _cache]", 1, "starts with '_'"),
        ("['data.__dict__']", 0, "starts with '_'"),
        ("['data.*x']", 0, "not a Python name"),
        ("['***']", 0, "not a Python name"),
        ("['']", 0, "empty"),
        ("['a..b']", 0, "empty"),
        ("['a[0]']", 0, "not a Python name"),
    ],
)
def test_invalid_allow_pattern_is_refused(allow: str, index: int, words: str) -> None:
    """An allow entry with a private, partial-glob or malformed segment is refused."""
    error = policy_error(expose_policy(allow=allow))
    assert (error.line, error.field) == (7, f"expose.obj.allow[{index}]")
    assert words in error.problem


def test_sha256_pins_are_normalized_to_lowercase() -> None:
    """Pins are 64 hex digits, stored lowercase so they compare with hexdigest()."""
    pin = "AB" * 32
    policy = parse_policy(MINIMAL + f"  sha256: ['{pin}']\n", path=POLICY_PATH)
    assert policy.probe.sha256 == ("ab" * 32,)


@pytest.mark.parametrize("pin", ["abc", "g" * 64, "a" * 65, "12"])
def test_malformed_sha256_pin_is_refused(pin: str) -> None:
    """A pin that is not 64 hex digits is refused at its list index."""
    error = policy_error(MINIMAL + f"  sha256: ['{pin}']\n")
    assert (error.line, error.field) == (4, "probe.sha256[0]")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (MINIMAL + "  owners: []\n", "probe.owners"),
        (MINIMAL + "  owners: ['a b']\n", "probe.owners[0]"),
        (MINIMAL + "trigger:\n  allowed_uids: []\n", "trigger.allowed_uids"),
        (MINIMAL + "trigger:\n  allowed_uids: [-1]\n", "trigger.allowed_uids[0]"),
        (MINIMAL + "limits:\n  timeout: 0s\n", "limits.timeout"),
        (MINIMAL + "limits:\n  timeout: 61s\n", "limits.timeout"),
        (MINIMAL + "limits:\n  max_steps: 0\n", "limits.max_steps"),
        (MINIMAL + "limits:\n  max_output: 17MiB\n", "limits.max_output"),
        (MINIMAL + "limits:\n  max_output: 0B\n", "limits.max_output"),
        (MINIMAL + "limits:\n  max_items: 0\n", "limits.max_items"),
        (MINIMAL + "limits:\n  max_depth: 0\n", "limits.max_depth"),
        (MINIMAL + "limits:\n  max_repr_items: 0\n", "limits.max_repr_items"),
        (MINIMAL + "limits:\n  max_str_chars: 15\n", "limits.max_str_chars"),
        (MINIMAL + "  max_size: 0\n", "probe.max_size"),
        (MINIMAL + "  max_size: 1GiB\n", "probe.max_size"),
        (MINIMAL + "trigger:\n  cooldown: -1s\n", "trigger.cooldown"),
        (MINIMAL + "trigger:\n  mode: poll\n", "trigger.mode"),
        (MINIMAL + "redact: ['']\n", "redact[0]"),
        (MINIMAL + 'name: "two\\nlines"\n', "name"),
        ("version: 1\nprobe:\n  path: ''\n", "probe.path"),
    ],
)
def test_out_of_range_values_are_refused(text: str, field: str) -> None:
    """Limits, owners, uids and labels outside their documented range are refused."""
    assert policy_error(text).field == field


def test_limits_accept_their_bounds() -> None:
    """The edges of each range are inside it: 60s, 16MiB, depth 1, 16 characters."""
    text = MINIMAL + (
        "limits:\n  timeout: 1m\n  max_output: 16MiB\n  max_depth: 1\n"
        "  max_repr_items: 1\n  max_str_chars: 16\n"
    )
    limits = parse_policy(text, path=POLICY_PATH).limits
    assert (limits.timeout_s, limits.max_output_bytes) == (60.0, 16 * 1024**2)
    assert (limits.max_depth, limits.max_repr_items, limits.max_str_chars) == (1, 1, 16)


def test_cooldown_zero_is_allowed() -> None:
    """cooldown: 0s turns the cooldown off (tests and demos use it)."""
    assert (
        parse_policy(MINIMAL + "trigger:\n  cooldown: 0s\n", path=POLICY_PATH).trigger.cooldown_s
        == 0
    )


def test_python_field_names_are_not_yaml_keys() -> None:
    """Only the YAML spelling is a key: `timeout_s` is unknown where `timeout` is expected."""
    error = policy_error(MINIMAL + "limits:\n  timeout_s: 1\n")
    assert error.field == "limits.timeout_s"
    assert error.problem.startswith("unknown key")


# -- paths and names --------------------------------------------------------------------------


def test_paths_resolve_against_the_policy_directory(tmp_path: Path) -> None:
    """probe.path, audit.path and audit.hmac_key_file are relative to the policy file."""
    text = (
        "version: 1\nprobe:\n  path: ../probes/./bar.py\n"
        "audit:\n  path: logs/audit.jsonl\n  hmac_key_file: /keys/../keys/audit.key\n"
    )
    policy = parse_policy(text, path=str(tmp_path / "policies" / "p.yaml"))
    assert policy.probe.path == str(tmp_path / "probes" / "bar.py")
    assert policy.audit.path == str(tmp_path / "policies" / "logs" / "audit.jsonl")
    assert policy.audit.hmac_key_file == "/keys/audit.key"


def test_relative_policy_path_resolves_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative policy path is taken from the current directory, as open() would."""
    monkeypatch.chdir(tmp_path)
    policy = parse_policy(MINIMAL, path="conf/p.yaml")
    assert policy.probe.path == str(tmp_path / "conf" / "probe.py")


def test_paths_keep_symlinks_as_written(tmp_path: Path) -> None:
    """Paths are normalized lexically; a symlinked directory is not resolved away."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    policy = parse_policy(MINIMAL, path=str(tmp_path / "link" / "p.yaml"))
    assert policy.probe.path == str(tmp_path / "link" / "probe.py")


def test_name_defaults_to_the_file_stem_and_an_explicit_name_wins() -> None:
    """An empty or missing name becomes the policy file's stem; a given name is kept."""
    assert parse_policy(MINIMAL, path="/x/payments.yaml").name == "payments"
    assert parse_policy(MINIMAL + "name: ''\n", path="/x/payments.yaml").name == "payments"
    assert parse_policy(MINIMAL + "name: api\n", path="/x/payments.yaml").name == "api"


def test_load_policy_on_a_missing_file_names_the_file(tmp_path: Path) -> None:
    """A missing policy file is a PolicyError with field `file` and no line."""
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert (caught.value.path, caught.value.line, caught.value.field) == (
        str(missing),
        None,
        "file",
    )


def test_load_policy_refuses_a_directory_and_non_utf8(tmp_path: Path) -> None:
    """A directory or a file that is not UTF-8 is refused as a PolicyError on `file`."""
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"version: 1\nname: \xff\n")
    for path in (tmp_path, binary):
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        assert caught.value.field == "file"


def test_load_policy_reads_and_resolves(tmp_path: Path) -> None:
    """load_policy reads the file and resolves paths against its directory."""
    (tmp_path / "p.yaml").write_text(MINIMAL, encoding="utf-8")
    policy = load_policy(str(tmp_path / "p.yaml"))
    assert policy.probe.path == str(tmp_path / "probe.py")
    assert policy.name == "p"


# -- the JSON Schema --------------------------------------------------------------------------


def test_json_schema_is_serialisable_and_requires_probe() -> None:
    """The schema is plain JSON, requires version and probe, and uses the YAML key names."""
    schema = policy_json_schema()
    text = json.dumps(schema)
    assert set(schema["required"]) == {"version", "probe"}  # type: ignore[call-overload]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert '"timeout"' in text
    assert '"max_output"' in text
    assert '"cooldown"' in text
    assert "timeout_s" not in text


# -- properties -----------------------------------------------------------------------------------

_MUTATION_PIECES = st.one_of(
    st.text(max_size=4),
    st.sampled_from(
        [":", ": ", "- ", "  ", "\n", "\t", "{", "}", "[", "]", ",", "&a ", "*a", "<<: ", "!!str ",
         "!x ", "'", '"', "#", "0x", "~", "yes", "-1", "1e9", "?", "|", ">", "%YAML 1.1\n", "---\n"]
    ),
)  # fmt: skip


@st.composite
def mutated_policy_texts(draw: st.DrawFn) -> str:
    """A valid policy's YAML with a few characters or lines deleted, inserted or moved."""
    text = yaml.safe_dump(draw(policy_dicts()), sort_keys=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        lines = text.splitlines(keepends=True)
        if operation == "delete" and text:
            start = draw(st.integers(0, len(text) - 1))
            text = text[:start] + text[start + draw(st.integers(1, 12)) :]
        elif operation == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(_MUTATION_PIECES) + text[at:]
        elif operation == "duplicate" and lines:
            index = draw(st.integers(0, len(lines) - 1))
            text = "".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])
        elif operation == "swap" and len(lines) > 1:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


def assert_parses_or_policy_error(text: str) -> None:
    try:
        parse_policy(text, path=POLICY_PATH)
    except PolicyError as caught:
        error = caught
    else:
        return
    # Lines as YAML counts them: \r, NEL (\x85) and U+2028/9 end a line too, and
    # str.splitlines knows all of them (and a few more, so this bound is generous).
    assert error.line is None or 1 <= error.line <= len(text.splitlines()) + 2
    assert len(str(error)) < 600


@given(st.text())
def test_any_text_parses_or_raises_policy_error(text: str) -> None:
    """Malformed input never escapes as anything but PolicyError."""
    assert_parses_or_policy_error(text)


@given(mutated_policy_texts())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mutated_policy_parses_or_raises_policy_error(text: str) -> None:
    """A damaged valid policy either still parses or fails as a PolicyError with a real line."""
    assert_parses_or_policy_error(text)


@given(policy_dicts())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_generated_policies_round_trip_through_their_dump(data: dict[str, object]) -> None:
    """A valid policy dumped by alias and parsed again is equal to itself."""
    policy = parse_policy(yaml.safe_dump(data), path=POLICY_PATH)
    dumped = policy.model_dump(mode="json", by_alias=True)
    assert parse_policy(yaml.safe_dump(dumped), path=POLICY_PATH) == policy
    assert Policy.model_validate(policy.model_dump(by_alias=True)) == policy
    assert os.path.isabs(policy.probe.path)


def test_allowed_uids_with_handler_mode_is_refused() -> None:
    """A handler cannot see the sender, so allowed_uids would refuse every attempt."""
    text = "version: 1\nprobe: {path: p.py}\ntrigger:\n  mode: handler\n  allowed_uids: [0]\n"
    with pytest.raises(PolicyError, match="allowed_uids needs mode: listener") as info:
        parse_policy(text, path="p.yaml")
    assert info.value.line is not None


# -- output in the audit record ------------------------------------------------------------------


def test_included_output_that_could_pass_the_record_cap_is_refused() -> None:
    """include_output with a max_output whose JSON (6 bytes per control byte) could pass the
    16 MiB record cap is an error naming both fields, not a record refused later."""
    error = policy_error(MINIMAL + "limits:\n  max_output: 16MiB\naudit:\n  include_output: true\n")
    assert "audit.include_output" in str(error)
    assert "limits.max_output" in str(error)


def test_included_output_within_the_record_cap_and_large_output_without_it_load() -> None:
    """The largest max_output that fits the cap loads with include_output, and any loads
    without it."""
    fits = parse_policy(
        MINIMAL + f"limits:\n  max_output: {MAX_INCLUDED_OUTPUT_BYTES}\n"
        "audit:\n  include_output: true\n",
        path=POLICY_PATH,
    )
    assert fits.limits.max_output_bytes == MAX_INCLUDED_OUTPUT_BYTES
    policy_error(
        MINIMAL + f"limits:\n  max_output: {MAX_INCLUDED_OUTPUT_BYTES + 1}\n"
        "audit:\n  include_output: true\n"
    )
    big = parse_policy(MINIMAL + "limits:\n  max_output: 16MiB\n", path=POLICY_PATH)
    assert big.limits.max_output_bytes == 16 * 1024 * 1024


def test_the_policy_cap_is_the_sinks_cap() -> None:
    """The validator reasons about the same record cap the sink enforces."""
    assert AUDIT_RECORD_CAP_BYTES == MAX_RECORD_BYTES
    assert MAX_INCLUDED_OUTPUT_BYTES * 6 < MAX_RECORD_BYTES
