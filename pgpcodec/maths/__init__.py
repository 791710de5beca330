"""The prefilter maths: pure functions on numpy arrays, no plugins, no I/O."""
