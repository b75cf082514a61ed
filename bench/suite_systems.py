"""The systems the suite compares, behind one small interface.

Each system knows whether it is installed, which optimizers it offers, how to
turn a workload into its own input (outside any timing), how to train a fresh
model on one pass over the stream (timed), how to score the held-out set, and
how to answer single events one call at a time.

Hyperparameters are the same everywhere: no regularisation, a constant step
size (``Workload.lr``), zero initial weights, an intercept. Where a peer's
squared loss is ``(p - y)^2`` instead of scikit-learn's ``(p - y)^2 / 2``
(River, Vowpal Wabbit), its plain-SGD step is halved so the updates are the
same; Adam is invariant to that factor.
"""
import importlib
import time

import numpy as np

CLASSES = np.array([0, 1])


def timed_calls(fn, n, budget_s):
    """Call ``fn(i)`` for i = 0..n-1, timing each call; stop early once
    ``budget_s`` seconds have passed (slow peers). Returns the per-call times."""
    times = np.empty(n)
    clock = time.perf_counter
    deadline = clock() + budget_s
    for i in range(n):
        t0 = clock()
        fn(i)
        t1 = clock()
        times[i] = t1 - t0
        if t1 > deadline:
            return times[:i + 1]
    return times


def budgeted_loop(step, n, budget_s, chunk=256):
    """Call ``step(i)`` for i = 0..n-1 and return (seconds, calls made); slow
    peers stop at the first chunk boundary after ``budget_s`` seconds."""
    clock = time.perf_counter
    t0 = clock()
    done = 0
    while done < n:
        stop = min(n, done + chunk)
        for i in range(done, stop):
            step(i)
        done = stop
        if clock() - t0 > budget_s:
            break
    return clock() - t0, done


def version_of(module_name):
    try:
        return importlib.import_module(module_name).__version__
    except ImportError:
        return None


class System:
    """Base class: subclasses set the class attributes and implement the hooks."""

    key = ""  # command-line name
    label = ""  # table name
    module = ""  # import that decides availability
    install = ""  # how to get it, for the skip note
    optimizers = ("sgd", "adam")
    rows_option = None  # scale field capping the rows it trains on (slow peers), who
    # also stop after scale.peer_budget_s seconds of training

    def __init__(self, scale):
        self.scale = scale
        self._prepared = {}

    def unavailable(self):
        """None when installed, else a note saying why it is skipped."""
        try:
            importlib.import_module(self.module)
        except ImportError as exc:
            return f"{self.label}: not installed ({exc.name}); `{self.install}`"
        return None

    def version(self):
        return version_of(self.module)

    def rows(self, workload):
        n = workload.X.shape[0]
        return n if self.rows_option is None else min(n, getattr(self.scale, self.rows_option))

    def prepared(self, workload):
        """Per-workload input conversion, done once, before any timing."""
        if workload.name not in self._prepared:
            self._prepared[workload.name] = self.prepare(workload)
        return self._prepared[workload.name]

    def prepare(self, workload):
        return None

    def train(self, workload, optimizer):
        """Train a fresh model on one pass; return (seconds, rows, predict) where
        ``predict()`` returns P(y=1) (classification) or predictions on X_test."""
        raise NotImplementedError

    def latency(self, stream, optimizer, calls, budget_s):
        """Single events on ``stream`` (a classification workload); return a list
        of (call description, kind "learn"/"predict", per-call seconds)."""
        raise NotImplementedError


# -- streamlr and scikit-learn: the same estimator API ------------------------

class _SklearnAPI(System):
    estimators = ""  # module holding SGDClassifier / SGDRegressor

    def estimator(self, workload, optimizer):
        mod = importlib.import_module(self.estimators)
        kwargs = {"penalty": None, "learning_rate": "constant", "eta0": workload.lr[optimizer],
                  "shuffle": False, "tol": None}
        if optimizer != "sgd":
            kwargs["optimizer"] = optimizer
        if workload.task == "clf":
            return mod.SGDClassifier(loss="log_loss", **kwargs)
        return mod.SGDRegressor(loss="squared_error", **kwargs)

    def train(self, workload, optimizer):
        est = self.estimator(workload, optimizer)
        extra = {"classes": CLASSES} if workload.task == "clf" else {}
        t0 = time.perf_counter()
        est.partial_fit(workload.X, workload.y, **extra)
        elapsed = time.perf_counter() - t0
        if workload.task == "clf":
            return elapsed, workload.X.shape[0], lambda: est.predict_proba(workload.X_test)[:, 1]
        return elapsed, workload.X.shape[0], lambda: est.predict(workload.X_test)

    def _rows(self, stream, calls):
        """Rows 1..calls as 2-D one-row views/matrices (row 0 initialises the model)."""
        X = stream.X
        return [X[i:i + 1] for i in range(1, calls + 1)], [stream.y[i:i + 1] for i in range(1, calls + 1)]

    def _fresh(self, stream, optimizer):
        est = self.estimator(stream, optimizer)
        est.partial_fit(stream.X[:1], stream.y[:1], classes=CLASSES)
        return est

    def _partial_fit_calls(self, stream, optimizer, calls, budget_s):
        rows, labels = self._rows(stream, calls)
        est = self._fresh(stream, optimizer)
        learn = timed_calls(lambda i: est.partial_fit(rows[i], labels[i]), calls, budget_s)
        predict = timed_calls(lambda i: est.predict(rows[i]), calls, budget_s)
        return learn, predict


class Streamlr(_SklearnAPI):
    key = "streamlr"
    label = "streamlr"
    module = "streamlr"
    estimators = "streamlr"
    install = "pip install ."

    def has_single_event(self):
        return hasattr(importlib.import_module(self.estimators).SGDClassifier, "learn_one")

    def latency(self, stream, optimizer, calls, budget_s):
        out = []
        if self.has_single_event():
            X = stream.X
            rows = [X[i] for i in range(1, calls + 1)]  # 1-D array or 1-row CSR matrix
            labels = stream.y[1:calls + 1].tolist()
            est = self._fresh(stream, optimizer)
            out.append(("learn_one", "learn",
                        timed_calls(lambda i: est.learn_one(rows[i], labels[i]), calls, budget_s)))
            out.append(("predict_one", "predict",
                        timed_calls(lambda i: est.predict_one(rows[i]), calls, budget_s)))
            learn, _ = self._partial_fit_calls(stream, optimizer, calls, budget_s)
            out.append(("partial_fit(1 row)", "learn-pf", learn))
        else:
            learn, predict = self._partial_fit_calls(stream, optimizer, calls, budget_s)
            out.append(("partial_fit(1 row) [no learn_one yet]", "learn", learn))
            out.append(("predict(1 row) [no predict_one yet]", "predict", predict))
        return out


class Sklearn(_SklearnAPI):
    key = "sklearn"
    label = "scikit-learn"
    module = "sklearn"
    estimators = "sklearn.linear_model"
    install = "pip install scikit-learn"
    optimizers = ("sgd",)

    def latency(self, stream, optimizer, calls, budget_s):
        learn, predict = self._partial_fit_calls(stream, optimizer, calls, budget_s)
        return [("partial_fit(1 row)", "learn", learn), ("predict(1 row)", "predict", predict)]


# -- River: learn_one on dicts ------------------------------------------------

class River(System):
    key = "river"
    label = "River"
    module = "river"
    install = "pip install river"
    rows_option = "river_rows"

    def model(self, workload, optimizer):
        from river import linear_model, optim
        lr = workload.lr[optimizer]
        if workload.task == "reg" and optimizer == "sgd":
            lr /= 2  # River's squared loss is (p - y)^2
        opt = optim.SGD(lr) if optimizer == "sgd" else optim.Adam(lr=lr)
        cls = linear_model.LogisticRegression if workload.task == "clf" else linear_model.LinearRegression
        # River steps the intercept with plain SGD at intercept_lr, whatever the optimizer
        return cls(optimizer=opt, l2=0.0, intercept_lr=lr)

    def prepare(self, workload):
        from suite_data import row_dicts
        n = self.rows(workload)
        y = workload.y[:n].astype(bool).tolist() if workload.task == "clf" else workload.y[:n].tolist()
        return row_dicts(workload.X, n), y, row_dicts(workload.X_test, workload.X_test.shape[0])

    def train(self, workload, optimizer):
        xs, ys, tests = self.prepared(workload)
        model = self.model(workload, optimizer)
        learn = model.learn_one
        elapsed, rows = budgeted_loop(lambda i: learn(xs[i], ys[i]), len(xs), self.scale.peer_budget_s)
        if workload.task == "clf":
            return elapsed, rows, lambda: np.array([model.predict_proba_one(x)[True] for x in tests])
        return elapsed, rows, lambda: np.array([model.predict_one(x) for x in tests])

    def latency(self, stream, optimizer, calls, budget_s):
        from suite_data import row_dicts
        xs = row_dicts(stream.X, calls)
        ys = stream.y[:calls].astype(bool).tolist()
        model = self.model(stream, optimizer)
        learn = timed_calls(lambda i: model.learn_one(xs[i], ys[i]), calls, budget_s)
        predict = timed_calls(lambda i: model.predict_one(xs[i]), calls, budget_s)
        return [("learn_one", "learn", learn), ("predict_one", "predict", predict)]


# -- Vowpal Wabbit: its Python package, pre-parsed examples ---------------------

class VowpalWabbit(System):
    key = "vw"
    label = "Vowpal Wabbit"
    module = "vowpalwabbit"
    install = "pip install vowpalwabbit"
    optimizers = ("sgd",)  # VW has no Adam; its default update is adaptive/normalized/invariant
    rows_option = "vw_rows"

    def workspace(self, workload, optimizer):
        import vowpalwabbit
        lr = workload.lr[optimizer]
        bits = max(18, int(np.ceil(np.log2(workload.n_features))))
        if workload.task == "clf":
            loss = "--loss_function logistic --link logistic"
        else:
            loss = "--loss_function squared"
            lr /= 2  # VW's squared loss is (p - y)^2
        # --sgd: plain (non-adaptive, non-normalized, non-invariant) updates;
        # --power_t 0: constant rate
        return vowpalwabbit.Workspace(f"--quiet --sgd --power_t 0 -l {lr!r} -b {bits} {loss}")

    def prepare(self, workload):
        from suite_data import vw_lines
        n = self.rows(workload)
        return (vw_lines(workload.X, workload.y, n, workload.task),
                vw_lines(workload.X_test, None, workload.X_test.shape[0], workload.task))

    def train(self, workload, optimizer):
        lines, tests = self.prepared(workload)
        ws = self.workspace(workload, optimizer)
        examples = [ws.parse(line) for line in lines]  # parsing is not timed
        learn, finish = ws.learn, ws.finish_example

        def step(i):
            learn(examples[i])
            finish(examples[i])

        elapsed, rows = budgeted_loop(step, len(examples), self.scale.peer_budget_s)
        for ex in examples[rows:]:
            finish(ex)

        def predict():
            out = np.empty(len(tests))
            for i, line in enumerate(tests):
                ex = ws.parse(line)
                out[i] = ws.predict(ex)
                ws.finish_example(ex)
            ws.finish()
            return out

        return elapsed, rows, predict

    def latency(self, stream, optimizer, calls, budget_s):
        from suite_data import vw_lines
        ws = self.workspace(stream, optimizer)
        train = [ws.parse(line) for line in vw_lines(stream.X, stream.y, calls, "clf")]
        query = [ws.parse(line) for line in vw_lines(stream.X, None, calls, "clf")]

        def learn_call(i):
            ws.learn(train[i])
            ws.finish_example(train[i])

        def predict_call(i):
            ws.predict(query[i])
            ws.finish_example(query[i])

        learn = timed_calls(learn_call, calls, budget_s)
        predict = timed_calls(predict_call, calls, budget_s)
        for ex in train[len(learn):] + query[len(predict):]:
            ws.finish_example(ex)
        ws.finish()
        return [("learn (parsed example)", "learn", learn), ("predict (parsed example)", "predict", predict)]


# -- PyTorch: a per-sample training loop ----------------------------------------

class Torch(System):
    key = "torch"
    label = "PyTorch"
    module = "torch"
    install = "pip install torch"
    rows_option = "torch_rows"

    class Loop:
        """A linear model trained one sample at a time (batch size 1), float64.

        Dense rows: a weight vector and a bias, ``x @ w + b``. Hashed rows: an
        ``EmbeddingBag`` of width 1 with sparse gradients over n_features + 1
        rows, the last one being the bias (its index is appended to every row),
        trained with ``SGD`` or ``SparseAdam`` (lazy Adam, as streamlr's on CSR).
        """

        def __init__(self, workload, optimizer, n):
            import torch
            torch.set_num_threads(1)  # 100-element ops: threads only add overhead
            self.torch = torch
            f = torch.nn.functional
            lr = workload.lr[optimizer]
            X, d = workload.X, workload.n_features
            self.sparse = workload.sparse
            if self.sparse:
                self.emb = torch.nn.EmbeddingBag(d + 1, 1, mode="sum", sparse=True, dtype=torch.float64)
                torch.nn.init.zeros_(self.emb.weight)
                params = list(self.emb.parameters())
                adam = torch.optim.SparseAdam
                self.rows = []
                for i in range(n):
                    lo, hi = X.indptr[i], X.indptr[i + 1]
                    idx = np.append(X.indices[lo:hi].astype(np.int64), d)
                    val = np.append(X.data[lo:hi], 1.0)
                    self.rows.append((torch.from_numpy(idx)[None], torch.from_numpy(val)[None]))
            else:
                self.w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
                self.b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
                params = [self.w, self.b]
                adam = torch.optim.Adam
                self.rows = list(torch.from_numpy(np.ascontiguousarray(X[:n])))
            self.targets = list(torch.from_numpy(workload.y[:n].astype(np.float64)).reshape(-1, 1))
            self.opt = torch.optim.SGD(params, lr=lr) if optimizer == "sgd" else adam(params, lr=lr)
            if workload.task == "clf":
                self.loss = f.binary_cross_entropy_with_logits
            else:
                self.loss = lambda z, t: 0.5 * (z - t).square().sum()

        def forward(self, i):
            if self.sparse:
                idx, val = self.rows[i]
                return self.emb(idx, per_sample_weights=val).reshape(1)
            return self.rows[i] @ self.w + self.b

        def step(self, i):
            self.opt.zero_grad()
            self.loss(self.forward(i), self.targets[i]).backward()
            self.opt.step()

        def predict_one(self, i):
            with self.torch.no_grad():
                return self.forward(i)

        def weights(self):
            if self.sparse:
                w = self.emb.weight.detach().numpy().ravel()
                return w[:-1], w[-1]
            return self.w.detach().numpy(), float(self.b.detach()[0])

    def train(self, workload, optimizer):
        n = self.rows(workload)
        loop = self.Loop(workload, optimizer, n)
        elapsed, n = budgeted_loop(loop.step, n, self.scale.peer_budget_s)

        def predict():
            w, b = loop.weights()
            z = workload.X_test @ w + b
            return 1.0 / (1.0 + np.exp(-z)) if workload.task == "clf" else z

        return elapsed, n, predict

    def latency(self, stream, optimizer, calls, budget_s):
        loop = self.Loop(stream, optimizer, calls)
        learn = timed_calls(loop.step, calls, budget_s)
        predict = timed_calls(loop.predict_one, calls, budget_s)
        return [("optimizer step (batch 1)", "learn", learn), ("forward (no_grad)", "predict", predict)]


ALL_SYSTEMS = (Streamlr, Sklearn, River, VowpalWabbit, Torch)
