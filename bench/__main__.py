"""``python -m bench``: the benchmark suite (see bench/run.py)."""
import os
import sys

# the bench scripts import each other by plain module name, as when run as
# ``python bench/<script>.py``
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import main

main()
