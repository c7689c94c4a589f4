"""Technique: change host state through every write form Python has: item and attribute
assignment, del, augmented assignment, mutating methods called by name, and C-level
mutators reached through builtins (dict.update, list.extend on the host object).
Source: RestrictedPython docs, "Guards" (_write_ lets plain dicts and lists through)."""

import pytest

PROBES = [
    "my_object.data['a'] = 'x'",
    "del my_object.data['a']",
    "my_object.data = {}",
    "del my_object.data",
    "d = my_object.data\nd['x'] = 1",
    "d = my_object.data\nd |= {'x': 1}",
    "my_object.data.update({'x': 1})",
    "my_object.data.setdefault('x', 1)",
    "my_object.data.pop('a')",
    "service.queue.append(4)",
    "service.queue.clear()",
    "service.history.append(1)",
    "service.history.sort()",
    "service.requests = 99",
    "service.settings.retries = 0",
    "service.cache['user:2']['name'] = 'mallory'",
    "x = service.history\nx += [1]",
    "x = service.history\nx *= 2",
    "dict.update(my_object.data, {'x': 1})",
    "service.settings.tags.append('z')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_every_write_form_is_refused(attack, probe: str) -> None:
    """Every form of write to a host object is refused, and the host is unchanged."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "error")
