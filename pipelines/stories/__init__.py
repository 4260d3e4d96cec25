"""Story clustering: a pure-Python assignment core and its Beam transform."""
