"""The policy: what a probe may see and how far it may go, as frozen pydantic models.

Owns the models of a version-1 policy (Policy and its parts) and their JSON Schema; the
values inside are checked by policy/fields.py, and policy/loading.py builds a Policy from
YAML (``parse_policy``, ``load_policy``).

Promise: a Policy holds only checked values and cannot change once built (frozen models,
tuples and read-only mappings); unknown keys are refused, because a silently dropped line
can weaken a policy; combinations that could never work (named probes or allowed_uids
with a handler, included output a record cannot hold) are refused when the policy is
built, not at the first signal. Threat model: SECURITY.md, "Allowlist" (the policy is the
allowlist; its author is trusted, the probe's author is not).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
    model_validator,
)

from safeprobe.attempt import FactName
from safeprobe.policy.defaults import (
    DEFAULT_COOLDOWN_S,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_MEMORY_BYTES,
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_MAX_REPR_ITEMS,
    DEFAULT_MAX_STEPS,
    DEFAULT_MAX_STR_CHARS,
    DEFAULT_PROBE_MAX_BYTES,
    DEFAULT_TIMEOUT_S,
    MAX_INCLUDED_OUTPUT_BYTES,
    MIN_MEMORY_BYTES,
    MIN_STR_CHARS,
)
from safeprobe.policy.fields import (
    Duration,
    Int,
    Label,
    PathText,
    Size,
    Text,
    check_allow,
    check_evaluate,
    check_evaluate_list,
    check_expose_name,
    check_output_bytes,
    check_owner,
    check_pattern,
    check_probe_bytes,
    check_sha256,
    check_signal,
    check_syslog_address,
    check_target,
    check_timeout,
    literal_text,
    not_empty,
    version_one,
)
from safeprobe.policy.named_probes import DEFAULT_PROBE, check_probe_name, request_code


def _frozen_probes(value: Mapping[str, ProbeSpec]) -> Mapping[str, ProbeSpec]:
    codes: dict[int, str] = {}
    for name in value:
        other = codes.setdefault(request_code(name), name)
        if other != name:  # one in two billion: ask for another name rather than guess
            raise ValueError(f"probe names {other!r} and {name!r} share a request code")
    return MappingProxyType(dict(value))


def _probes_as_dict(value: Mapping[str, ProbeSpec]) -> dict[str, ProbeSpec]:
    return dict(value)


def _no_probes() -> Mapping[str, ProbeSpec]:
    return MappingProxyType({})


def _facts_once(values: tuple[str, ...]) -> tuple[str, ...]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"fact {value!r} is listed twice")
    return values


def _frozen_expose(value: Mapping[str, Exposure]) -> Mapping[str, Exposure]:
    return MappingProxyType(dict(value))


def _expose_as_dict(value: Mapping[str, Exposure]) -> dict[str, Exposure]:
    return dict(value)


def _no_exposures() -> Mapping[str, Exposure]:
    return MappingProxyType({})


class Trigger(BaseModel, frozen=True, extra="forbid"):
    """Which signal starts an attempt, how often, and from whom."""

    signal: Annotated[
        str, BeforeValidator(check_signal), WithJsonSchema({"type": ["string", "integer"]})
    ] = "SIGQUIT"
    cooldown_s: Duration = Field(default=DEFAULT_COOLDOWN_S, alias="cooldown")
    # None lets any sender through; an empty list would refuse everyone, and reads like
    # "no restriction" (as an empty sha256 list does), so it is refused as ambiguous.
    allowed_uids: (
        Annotated[tuple[Annotated[Int, Field(ge=0)], ...], AfterValidator(not_empty)] | None
    ) = None
    # listener: a sigwaitinfo thread, which knows the sender; handler: a plain signal
    # handler, which does not.
    mode: Annotated[Literal["listener", "handler"], BeforeValidator(literal_text)] = "listener"
    # A handler for the signal that safeprobe did not install: refuse (install fails and
    # says so), or chain (a Python handler still runs after safeprobe's request; one set
    # outside the signal module, e.g. faulthandler.register, is always refused).
    foreign_handler: Annotated[Literal["refuse", "chain"], BeforeValidator(literal_text)] = "refuse"

    @model_validator(mode="after")
    def _sender_known_when_checked(self) -> Trigger:
        # A handler never learns the sender, so allowed_uids would refuse every attempt:
        # a policy that can never run is a mistake to report now, not at the first signal.
        if self.mode == "handler" and self.allowed_uids is not None:
            raise ValueError("allowed_uids needs mode: listener (a handler cannot see the sender)")
        return self


class ProbeSpec(BaseModel, frozen=True, extra="forbid"):
    """Which file is the probe, who may own it, and what it may contain."""

    # Relative to the policy file's directory; parse_policy makes it absolute.
    path: PathText
    owners: Annotated[
        tuple[Annotated[Text, AfterValidator(check_owner)], ...], AfterValidator(not_empty)
    ] = ("root", "current")
    sha256: tuple[Annotated[Text, AfterValidator(check_sha256)], ...] = ()
    max_bytes: Annotated[Size, AfterValidator(check_probe_bytes)] = Field(
        default=DEFAULT_PROBE_MAX_BYTES, alias="max_size"
    )


class Exposure(BaseModel, frozen=True, extra="forbid"):
    """One host object a probe may read, and the attribute paths it may follow."""

    # "module:attr.path": looked up in sys.modules, never imported.
    target: Annotated[Text, AfterValidator(check_target)]
    # Dotted paths relative to target: names, "*" (one name) or "**" (any depth).
    allow: tuple[Annotated[Text, AfterValidator(check_allow)], ...] = ()
    # Exact paths relative to target of properties ("stats.label") and zero-argument
    # methods ("snapshot()") that may run when the probe reads them; see probe/evaluation.py.
    evaluate: Annotated[
        tuple[Annotated[Text, AfterValidator(check_evaluate)], ...],
        AfterValidator(check_evaluate_list),
    ] = ()


class Limits(BaseModel, frozen=True, extra="forbid"):
    """The budgets of one attempt and the bounds on rendering host values."""

    timeout_s: Annotated[Duration, AfterValidator(check_timeout)] = Field(
        default=DEFAULT_TIMEOUT_S, alias="timeout"
    )
    max_steps: Annotated[Int, Field(gt=0)] = DEFAULT_MAX_STEPS
    max_output_bytes: Annotated[Size, AfterValidator(check_output_bytes)] = Field(
        default=DEFAULT_MAX_OUTPUT_BYTES, alias="max_output"
    )
    max_items: Annotated[Int, Field(gt=0)] = DEFAULT_MAX_ITEMS
    max_depth: Annotated[Int, Field(ge=1)] = DEFAULT_MAX_DEPTH
    max_repr_items: Annotated[Int, Field(ge=1)] = DEFAULT_MAX_REPR_ITEMS
    max_str_chars: Annotated[Int, Field(ge=MIN_STR_CHARS)] = DEFAULT_MAX_STR_CHARS
    # isolation: fork only: address space the child may add to what the host already maps.
    max_memory_bytes: Annotated[Size, Field(ge=MIN_MEMORY_BYTES)] = Field(
        default=DEFAULT_MAX_MEMORY_BYTES, alias="max_memory"
    )


class SyslogConfig(BaseModel, frozen=True, extra="forbid"):
    """Where each audit record is also sent, as an RFC 5424 syslog message."""

    address: Annotated[Text, AfterValidator(check_syslog_address)] = "/dev/log"
    facility: Annotated[
        Literal[
            "auth", "authpriv", "daemon", "user", "security", "syslog",
            "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ],
        BeforeValidator(literal_text),
    ] = "auth"  # fmt: skip
    # true: fail closed. The probe does not run unless syslog is reachable first, and its
    # output is withheld if the record could not be sent after. false: a warning on stderr.
    required: Annotated[bool, Strict()] = True
    timeout_s: Annotated[Duration, AfterValidator(check_timeout)] = Field(
        default=1.0, alias="timeout"
    )


class AuditConfig(BaseModel, frozen=True, extra="forbid"):
    """Where the audit trail goes and what it keeps."""

    # Both paths are relative to the policy file's directory; parse_policy resolves them.
    path: PathText = "./audit.jsonl"
    hmac_key_file: PathText | None = None
    include_output: Annotated[bool, Strict()] = False
    fsync: Annotated[bool, Strict()] = True
    syslog: SyslogConfig | None = None


class Policy(BaseModel, frozen=True, extra="forbid"):
    """A whole version-1 policy. Build it with parse_policy or load_policy."""

    version: Annotated[Literal[1], BeforeValidator(version_one)]
    name: Label = ""  # parse_policy fills in the policy file's stem when empty
    trigger: Trigger = Trigger()
    probe: ProbeSpec
    # Named probes besides `probe` (which is "default"): `safeprobe trigger --probe NAME`
    # asks for one by number (sigqueue); the host runs only what this mapping names.
    probes: Annotated[
        Mapping[Annotated[Text, AfterValidator(check_probe_name)], ProbeSpec],
        AfterValidator(_frozen_probes),
        PlainSerializer(_probes_as_dict, return_type=dict[str, ProbeSpec]),
    ] = Field(default_factory=_no_probes)
    # A read-only mapping: validated as a dict, kept as a MappingProxyType, dumped as a dict.
    expose: Annotated[
        Mapping[Annotated[Text, AfterValidator(check_expose_name)], Exposure],
        AfterValidator(_frozen_expose),
        PlainSerializer(_expose_as_dict, return_type=dict[str, Exposure]),
    ] = Field(default_factory=_no_exposures)
    # Built-in read-only snapshots the probe sees as globals of these names (probe/facts/).
    facts: Annotated[
        tuple[Annotated[FactName, BeforeValidator(literal_text)], ...],
        AfterValidator(_facts_once),
    ] = ()
    # Added to the built-in name patterns (*password*, *token*, ...), never replacing them.
    redact: tuple[Annotated[Text, AfterValidator(check_pattern)], ...] = ()
    # fork (the default): the probe runs in a forked child that is killed at the deadline
    # and runs under limits.max_memory, so every limit holds even for one long C call;
    # thread: in the host's runner thread, an opt-in for hosts that cannot fork, where C
    # calls are bounded by cost checks only (SECURITY.md, "Isolation").
    isolation: Annotated[Literal["thread", "fork"], BeforeValidator(literal_text)] = "fork"
    # stderr: the host's stderr; file: a result file per attempt in output_dir, mode 0600,
    # which `safeprobe trigger` prints.
    output: Annotated[Literal["stderr", "file"], BeforeValidator(literal_text)] = "stderr"
    output_dir: PathText = "./results"
    limits: Limits = Limits()
    audit: AuditConfig = AuditConfig()

    @model_validator(mode="after")
    def _included_output_fits_a_record(self) -> Policy:
        # A record over the sink's cap could only be written with its output cut: refuse the
        # combination now, naming both fields, rather than at the first large output.
        if self.audit.include_output and self.limits.max_output_bytes > MAX_INCLUDED_OUTPUT_BYTES:
            raise ValueError(
                f"audit.include_output: true needs limits.max_output of at most "
                f"{MAX_INCLUDED_OUTPUT_BYTES} bytes (1MiB): output is stored in the record as "
                f"JSON, up to 6 bytes per output byte, and a record is capped at 16MiB"
            )
        return self

    @model_validator(mode="after")
    def _named_probes_need_the_sender(self) -> Policy:
        # A handler never sees sigqueue's value, so it would run `probe` for every request.
        if self.probes and self.trigger.mode == "handler":
            raise ValueError("probes needs trigger.mode: listener (a handler cannot see which)")
        # Named probes are asked for with sigqueue, whose caller writes its own sender
        # fields; allowed_uids trusts only senders the kernel vouches for (kill, tgkill).
        if self.probes and self.trigger.allowed_uids is not None:
            raise ValueError(
                "probes cannot be combined with trigger.allowed_uids: a named probe is asked "
                "for with sigqueue, whose sender uid the kernel does not vouch for"
            )
        return self

    def probe_for(self, name: str) -> ProbeSpec | None:
        """The probe of that name (DEFAULT_PROBE is `probe`), or None."""
        return self.probe if name == DEFAULT_PROBE else self.probes.get(name)

    def probe_named_by(self, code: int) -> str | None:
        """The name of the probe a sender's request code asks for, or None."""
        if code == 0:
            return DEFAULT_PROBE
        return next((name for name in self.probes if request_code(name) == code), None)


def policy_json_schema() -> dict[str, object]:
    """The JSON Schema of a policy file as written (YAML key names, durations and sizes)."""
    schema: dict[str, object] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Policy.model_json_schema(by_alias=True, mode="validation"))
    return schema
