# Which worker is this, and what has it served?
print(f"{worker.served} requests served, last {worker.last_path!r}")
for path, count in sorted(worker.by_path.items()):
    print(f"  {path:<24}{count}")
print(process)
