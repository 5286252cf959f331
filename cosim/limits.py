"""The sizes cosim accepts, stated once and checked when a scenario is loaded (each
message names the bound). They keep a mistyped number from asking for days of compute or
more memory than a machine has, far above any real study (the largest benchmark pack has
16,384 unit cells; a year at 1 s steps is 3.2e7 macro steps).
"""

#: macro steps in a run
MAX_MACRO_STEPS = 100_000_000
#: records in a result file
MAX_RECORDS = 10_000_000
#: records buffered before they are written
MAX_FLUSH_EVERY = 100_000
#: unit cells of a pack, cells of a cell component, layers of a thermal network
MAX_UNIT_CELLS = 100_000
#: plays of a drive cycle or a profile table
MAX_REPEAT = 10_000
#: halvings of a rejected step (each doubles the work of that step)
MAX_STEP_HALVINGS = 30
