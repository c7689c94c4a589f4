"""The operator's side: the CLI, live commands, lint, review and the demo. Never imported
by the host's code (an import contract checks it)."""
