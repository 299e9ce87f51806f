# An empty solution: it does nothing.
