"""The policy: its models and units, YAML loading with line numbers, and its dump."""
