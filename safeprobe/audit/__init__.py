"""The audit trail: the hash chain, the locked append, rotation, syslog, reading records."""
