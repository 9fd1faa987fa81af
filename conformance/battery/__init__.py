"""What the battery checks, written once for every library: the function table and its rows, the specs, the
draws and their strategies, the tolerance policy and the one comparison of results.

Nothing here knows a library or a process: a backend reaches these modules only through the adapter it is given
(:mod:`backends.base`), and the run stage (:mod:`conformance.run`) turns them into checks.
"""
