# Each task, its own coroutine's line and the innermost await it is suspended in; then the
# full dump (every loop, every task's await chain).
for task in asyncio:
    if task.stack:
        own, inner = task.stack[-1], task.stack[0]
        where = f"{own.function}:{own.line} awaiting {inner.function}"
    else:
        where = "(no frames: not started yet, or done)"
    print(f"{task.name:<24}{task.state:<10} {where}")
print()
print(asyncio)
