"""Effects in the host process: the probe file, isolation, execution, the runner, the
trigger, the announcement, the launcher."""
