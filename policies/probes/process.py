# The process at a glance.
print(process)
