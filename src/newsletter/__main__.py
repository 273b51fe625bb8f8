"""Run the command line as `python -m newsletter`."""

from .cli import run

# Guarded: a process the preview spawns to check its builds imports this module again.
if __name__ == "__main__":
    run(prog_name="newsletter")
