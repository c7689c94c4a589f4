"""Facts: read-only snapshots of the host (threads, process, gc, asyncio tasks)."""
