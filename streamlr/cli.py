"""The ``streamlr`` command line.

``streamlr demo``: learn a built-in synthetic stream (a drifting-free
logistic problem, seeded) event by event and print the progressive accuracy
(predict, then learn) and the progressive loss every ``--every`` samples.
"""
import argparse
import sys
import time

import numpy as np

from .linear_model import SGDClassifier


def synthetic_stream(n_samples, n_features, seed=0):
    """A seeded binary classification stream: y ~ Bernoulli(sigmoid(X w*))."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=n_features)
    X = rng.normal(size=(n_samples, n_features))
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(n_samples) < p).astype(int)
    return X, y


def demo(args):
    X, y = synthetic_stream(args.samples, args.features, args.seed)
    model = SGDClassifier(loss=args.loss, learning_rate=args.learning_rate,
                          eta0=args.eta0, alpha=args.alpha, shuffle=False)
    classes = np.unique(y)
    correct = 0
    print(f"streamlr demo: {args.samples} events x {args.features} features, "
          f"loss={args.loss}, learning_rate={args.learning_rate}")
    print(f"{'events':>8}  {'prog. accuracy':>14}  {'prog. loss':>10}  {'lr':>9}  {'us/event':>8}")
    start = time.perf_counter()
    for lo in range(0, args.samples, args.batch):
        hi = min(lo + args.batch, args.samples)
        Xb, yb = X[lo:hi], y[lo:hi]
        if lo > 0:  # predict first, then learn: progressive validation
            correct += int((model.predict(Xb) == yb).sum())
        else:
            correct += int((yb == classes[0]).sum())  # untrained model: first class
        model.partial_fit(Xb, yb, classes=classes)
        if hi % args.every == 0 or hi == args.samples:
            us = (time.perf_counter() - start) / hi * 1e6
            print(f"{hi:>8}  {correct / hi:>14.4f}  {model.progressive_loss_:>10.4f}  "
                  f"{model.lr_:>9.3g}  {us:>8.2f}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="streamlr", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="learn a built-in synthetic stream and report progress")
    p.add_argument("--samples", type=int, default=100_000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--batch", type=int, default=100, help="events per partial_fit call")
    p.add_argument("--every", type=int, default=10_000, help="report every N events")
    p.add_argument("--loss", default="log_loss")
    p.add_argument("--learning-rate", dest="learning_rate", default="constant")
    p.add_argument("--eta0", type=float, default=0.01)
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.every <= 0 or args.samples <= 0 or args.batch <= 0:
        parser.error("--samples, --batch and --every must be positive")
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
