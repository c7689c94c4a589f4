# Which tasks are alive, and what is each one waiting for?
print(f"jobs: {service.queued} queued, {service.done} done {service.by_worker}")
for task in asyncio:
    own, inner = task.stack[-1], task.stack[0]
    print(f"  {task.name:<16}{task.state:<8} {own.function}:{own.line} in {inner.function}")
print()
print(asyncio)
