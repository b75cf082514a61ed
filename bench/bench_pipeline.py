"""Per-event latency of an online pipeline: standard scaler, then a logistic model.

One event at a time on a dense stream of 100 features: learn it, and predict
the next one, each call timed with ``perf_counter_ns``; the median (and p99)
over the events, then the median over ``--repeats`` runs. Systems:

- streamlr: ``make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss"))``
  with ``learn_one``/``predict_one`` (and its estimator alone, for reference);
- scikit-learn: its ``StandardScaler`` and ``SGDClassifier(loss="log_loss")``
  in a ``Pipeline``, which has no ``partial_fit``: per event the scaler's and
  then the model's ``partial_fit`` on the one-row array, and ``predict``;
- River: ``preprocessing.StandardScaler() | linear_model.LogisticRegression()``
  with ``learn_one``/``predict_one`` on dict events.

Rerun:  PYTHONPATH=. python bench/bench_pipeline.py [--events N] [--repeats R]
"""
import argparse
import time

import numpy as np

D = 100


def _stream(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)) * rng.uniform(0.5, 20.0, size=D) + rng.uniform(-5, 5, size=D)
    y = ((X - X.mean(axis=0)) @ rng.normal(size=D) > 0).astype(int)
    return X, y


def _time(learn, predict, events, warm=200):
    """Median and p99 per call (microseconds) of learn(i) and predict(i)."""
    clock = time.perf_counter_ns
    n = len(events)
    tl, tp = np.empty(n - warm, dtype=np.int64), np.empty(n - warm, dtype=np.int64)
    for i in range(n):
        t0 = clock()
        learn(i)
        t1 = clock()
        predict(i)
        t2 = clock()
        if i >= warm:
            tl[i - warm], tp[i - warm] = t1 - t0, t2 - t1
    return [float(np.median(tl)) / 1e3, float(np.percentile(tl, 99)) / 1e3,
            float(np.median(tp)) / 1e3, float(np.percentile(tp, 99)) / 1e3]


def streamlr_pipeline(X, y):
    from streamlr import SGDClassifier
    from streamlr.pipeline import make_pipeline
    from streamlr.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", learning_rate="constant",
                                                         eta0=0.01))
    pipe.learn_one(X[0], y[0], classes=[0, 1])
    return _time(lambda i: pipe.learn_one(X[i], y[i]), lambda i: pipe.predict_one(X[i]), X)


def streamlr_estimator(X, y):
    from streamlr import SGDClassifier

    clf = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01)
    clf.learn_one(X[0], y[0], classes=[0, 1])
    return _time(lambda i: clf.learn_one(X[i], y[i]), lambda i: clf.predict_one(X[i]), X)


def sklearn_pipeline(X, y):
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", learning_rate="constant",
                                                         eta0=0.01))
    scaler, clf = pipe[0], pipe[-1]
    rows, labels = X[:, None, :], y[:, None]

    def learn(i):
        scaler.partial_fit(rows[i])
        clf.partial_fit(scaler.transform(rows[i]), labels[i], classes=[0, 1])

    learn(0)
    return _time(learn, lambda i: pipe.predict(rows[i]), X)


def river_pipeline(X, y):
    from river import linear_model, preprocessing

    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    events = [dict(enumerate(x.tolist())) for x in X]
    labels = [bool(t) for t in y]
    return _time(lambda i: model.learn_one(events[i], labels[i]),
                 lambda i: model.predict_one(events[i]), events)


SYSTEMS = [("streamlr pipeline", streamlr_pipeline, 1.0),
           ("streamlr SGDClassifier alone", streamlr_estimator, 1.0),
           ("scikit-learn Pipeline, partial_fit per row", sklearn_pipeline, 0.05),
           ("River StandardScaler + LogisticRegression", river_pipeline, 0.25)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from suite_report import cpu_model

    print(f"CPU: {cpu_model()}; {D} dense features; median of {args.repeats} runs; "
          "microseconds per event")
    print("| system | learn_one median | learn_one p99 | predict_one median | predict_one p99 |")
    print("|---|---:|---:|---:|---:|")
    results = {}
    for name, fn, share in SYSTEMS:
        n = max(1000, int(args.events * share))
        X, y = _stream(n)
        runs = np.array([fn(X, y) for _ in range(args.repeats)])
        results[name] = np.median(runs, axis=0)
        med = results[name]
        print(f"| {name} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | {med[3]:.2f} |", flush=True)
    return results


if __name__ == "__main__":
    main()
