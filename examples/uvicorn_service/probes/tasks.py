# What has the service done, which requests are in flight, and what is each task awaiting?
# Each task's await chain, innermost first: "Event.wait < wait_for_release < app < …".
print(f"{service.served} served, {service.in_flight} in flight, {service.ticks} ticks")
for task in asyncio:
    chain = [f"{frame.function}:{frame.line}" for frame in task.stack]
    print(f"  {task.name:<12}{task.state:<10} {' < '.join(chain) or '(no frames)'}")
