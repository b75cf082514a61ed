"""The stopping rules of ``fit``: when to end the epochs of one binary problem.

Each rule sees the problem after every epoch and answers whether to go on.
``fit`` uses scikit-learn's rules: ``tol`` on the training objective, or on
a validation score with ``early_stopping``, both with ``n_iter_no_change``
and the adaptive rate's division; streamlr adds ``gtol``, a bound on the norm
of the full gradient. ``partial_fit`` runs one pass and no rule.
"""
import numpy as np

from .._kernels import kernel as _k


class NoImprovement:
    """scikit-learn's rule: stop after ``n_iter_no_change`` epochs without an
    improvement of ``tol`` (of the objective, which must fall, or of the
    validation score, which must rise); with an adaptive rate, divide the
    rate instead while it is above 1e-6."""

    def __init__(self, tol, n_iter_no_change, adaptive_factor, scorer=None):
        self.tol = -np.inf if tol is None else tol
        self.n_iter_no_change = n_iter_no_change
        self.factor = adaptive_factor
        self.scorer = scorer
        self.best_objective = np.inf
        self.best_score = -np.inf
        self.no_improve = 0

    def after_epoch(self, k, epoch, mean_loss, mean_objective, lr, t, eta, progressive, verbose):
        """(stop, eta): whether to stop, and the rate of the next epoch."""
        if self.scorer is not None:
            score = self.scorer(k)
            self.no_improve = self.no_improve + 1 if score < self.best_score + self.tol else 0
            self.best_score = max(self.best_score, score)
            if verbose:
                print(f"T: {t - 1:.0f}, Avg. loss: {mean_loss:f}, "
                      f"Validation score: {score:f}, lr: {lr:.3g}")
        else:
            self.no_improve = (self.no_improve + 1
                               if mean_objective > self.best_objective - self.tol else 0)
            self.best_objective = min(self.best_objective, mean_objective)
            if verbose:
                print(f"T: {t - 1:.0f}, Avg. loss: {mean_loss:f}, "
                      f"lr: {lr:.3g}, progressive loss: {progressive():f}")
        if self.no_improve < self.n_iter_no_change:
            return False, eta
        if self.factor is not None and eta > 1e-6:
            # divide by 1/factor: for 0.2, bitwise scikit-learn's eta / 5
            self.no_improve = 0
            return False, eta / (1.0 / self.factor)
        if verbose:
            print(f"Convergence after {epoch + 1} epochs")
        return True, eta


def _penalized(g, coef, cfg):
    """The loss gradient ``g`` plus the penalty's (L1: the minimum-norm
    subgradient, zero where ``coef`` is zero and the loss gradient is within
    the threshold)."""
    l1_ratio = cfg.l1_ratio
    if cfg.penalty >= _k.PENALTIES["l2"]:
        g = g + cfg.alpha * (1.0 - l1_ratio) * coef
    if cfg.penalty in (_k.PENALTIES["l1"], _k.PENALTIES["elasticnet"]):
        lam = cfg.alpha * l1_ratio
        g = np.where(coef != 0, g + lam * np.sign(coef),
                     np.sign(g) * np.maximum(np.abs(g) - lam, 0.0))
    return g


def gradient_norm(state, k, X, y, sample_weight, cfg, loss, t, average, fit_intercept):
    """Norm of the full gradient of problem k's regularised objective,
    (1/n) sum_i s_i L(y_i, w.x_i + b) + alpha R(w), at the model as it
    predicts now (averaged once averaging has started). s_i is the sample
    weight times the class weight; for L1 the minimum-norm subgradient."""
    from sklearn.utils.extmath import safe_sparse_dot  # fit's gtol only

    averaged = bool(average) and average <= t - 1
    coef, intercept = state.model(k, averaged, average)
    coef = coef.astype(np.float64)
    p = np.asarray(safe_sparse_dot(X, coef), dtype=np.float64).ravel() + intercept
    y = np.ascontiguousarray(y, dtype=np.float64)
    s = sample_weight * np.where(y > 0, cfg.weight_pos, cfg.weight_neg)
    r = loss.dloss_array(y, np.ascontiguousarray(p)) * s / y.shape[0]
    g = np.asarray(safe_sparse_dot(r, X), dtype=np.float64).ravel()
    g = _penalized(g, coef, cfg)
    gb = r.sum() if fit_intercept else 0.0
    return float(np.sqrt(g @ g + gb * gb))


def softmax_gradient_norm(state, X, labels, sample_weight, cfgs, t, average, fit_intercept):
    """Norm of the full gradient of the softmax model's regularised
    objective, (1/n) sum_i s_i CE(y_i, W x_i + b) + alpha sum_k R(w_k), as
    ``gradient_norm`` (s_i: sample weight times the class weight of y_i,
    the positive weight of that class's config)."""
    from sklearn.utils.extmath import safe_sparse_dot  # fit's gtol only

    averaged = bool(average) and average <= t - 1
    K = state.n_problems
    coefs = [state.model(k, averaged, average) for k in range(K)]
    coef = np.stack([c.astype(np.float64) for c, _ in coefs])
    intercept = np.array([b for _, b in coefs], dtype=np.float64)
    p = np.asarray(safe_sparse_dot(X, coef.T), dtype=np.float64) + intercept
    p -= p.max(axis=1, keepdims=True)
    prob = np.exp(p)
    prob /= prob.sum(axis=1, keepdims=True)
    idx = np.asarray(labels).astype(np.intp)
    prob[np.arange(idx.shape[0]), idx] -= 1.0
    cw = np.array([c.weight_pos for c in cfgs], dtype=np.float64)
    r = prob * (sample_weight * cw[idx])[:, None] / idx.shape[0]
    g = np.asarray(safe_sparse_dot(r.T, X), dtype=np.float64).reshape(K, -1)
    g = _penalized(g, coef, cfgs[0])
    gb = r.sum(axis=0) if fit_intercept else np.zeros(K)
    return float(np.sqrt((g * g).sum() + gb @ gb))


class GradientNorm:
    """streamlr's ``gtol``: stop once the full gradient's norm is below it."""

    def __init__(self, gtol, norm):
        self.gtol = gtol
        self.norm = norm        # norm(k, t) -> float
        self.unmet = False

    def after_epoch(self, k, epoch, t, last_epoch, verbose):
        gnorm = self.norm(k, t)
        if verbose:
            print(f"Norm of the gradient: {gnorm:.3g}")
        if gnorm < self.gtol:
            if verbose:
                print(f"Gradient norm below gtol after {epoch + 1} epochs")
            return True
        if last_epoch:
            self.unmet = True
        return False


def validation_mask(est, y, sample_weight):
    """The rows ``fit`` holds out for ``early_stopping`` (stratified for a
    classifier), as a boolean mask; all False without early stopping."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    n = y.shape[0]
    mask = np.zeros(n, dtype=bool)
    if not est.early_stopping:
        return mask
    splitter = StratifiedShuffleSplit if est._is_classifier else ShuffleSplit
    cv = splitter(test_size=est.validation_fraction, random_state=est.random_state)
    idx_train, idx_val = next(cv.split(np.zeros((n, 1)), y))
    if not np.any(sample_weight[idx_val] > 0):
        raise ValueError(
            "The sample weights for validation set are all zero, consider using a"
            " different random state.")
    if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
        raise ValueError(
            f"Splitting {n} samples into a train set and a validation set with "
            f"validation_fraction={est.validation_fraction!r} led to an empty set "
            f"({idx_train.shape[0]} and {idx_val.shape[0]} samples). Please either "
            "change validation_fraction, increase number of samples, or disable "
            "early_stopping.")
    mask[idx_val] = True
    return mask
