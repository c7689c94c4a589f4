# The gunicorn master: the process and what each of its threads is doing.
print(process)
print(threads)
