# Which worker is this, and how much has it done?
print(f"worker {worker.index}: {worker.served} requests served, last {worker.last_path!r}")
print(process)
