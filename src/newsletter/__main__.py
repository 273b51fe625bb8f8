"""Run the command line as `python -m newsletter`."""

from .cli import main

# Guarded: a process the preview spawns to check its builds imports this module again.
if __name__ == "__main__":
    main(prog_name="newsletter")
