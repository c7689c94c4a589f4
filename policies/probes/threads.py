# Every thread's stack, most recent call first.
print(threads)
