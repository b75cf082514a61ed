"""What ``optimizer="auto"`` on CSR rows holds and costs in a new process.

    python bench/bench_race_memory.py               # 200k rows x 2^20 columns (40 nnz)
    python bench/bench_race_memory.py --rows 20000  # quicker

Prints one line (a dict): the bytes of each state array of the race after a
first call, the race's CPU seconds of a first pass (a new model: the first
large allocation of the process), its second and steady passes, one Adam
model's (bench_race_cost.py's), ``learn_one`` microseconds of each, and the
process's peak resident memory. Run it alternately with two builds
(``PYTHONPATH=<build>``) to compare them: bench/README.md's race-cost section.
"""
import argparse
import resource
import time

from bench_race_cost import CLOCK, _single, csr_data, epoch_seconds, learn_one_us

from streamlr import SGDClassifier
from streamlr.linear_model._state import ARRAYS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    CLOCK[0] = time.process_time
    X, y = csr_data(args.rows)

    def race():
        return SGDClassifier(loss="log_loss", optimizer="auto", shuffle=False)

    def adam():
        return _single("adam")

    out = {}
    # the timed passes first: the race's first pass is then the process's first fault-in
    out["race_s"] = tuple(round(v, 3) for v in epoch_seconds(race, X, y)[:3])
    out["adam_s"] = tuple(round(v, 3) for v in epoch_seconds(adam, X, y)[:3])
    out["learn_one_us"] = (round(learn_one_us(race, X, y), 2), round(learn_one_us(adam, X, y), 2))
    model = race().partial_fit(X[:2000], y[:2000], classes=[0, 1])._model
    out["nbytes"] = {name: getattr(model, name).nbytes for name in ARRAYS}
    out["state_MB"] = round(sum(out["nbytes"].values()) / 2**20, 1)
    out["max_rss_MB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(out, flush=True)


if __name__ == "__main__":
    main()
