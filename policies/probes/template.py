# The template's probe: reads the exposed service and the process fact.
print(service)
print(process)
