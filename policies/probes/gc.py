# The collector's generations. The gc fact holds counters only: counting objects by type
# would walk every object in the host, a cost no fact takes on the host's behalf.
print(gc)
