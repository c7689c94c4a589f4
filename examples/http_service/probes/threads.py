print(threads)
