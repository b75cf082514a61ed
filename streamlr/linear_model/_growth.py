"""Classes that appear mid-stream (``new_classes="add"``): growing a model.

Two operations on a ``ModelState``, each building new arrays (never
writing into the old ones, so that a call that fails puts the old model
back by restoring its attributes):

* ``add_problem``: a new problem at a given row, with zero weights and
  the optimizer's initial state (what a new one-vs-rest class, or a new
  softmax row, starts from);
* ``split_binary``: the one row of a binary classifier becomes the two
  one-vs-rest rows of its classes: the negative class gets the row negated
  (with the optimizer state that changes sign with it,
  ``Optimizer.sign_odd_slots``), the positive class keeps the row.
"""
import numpy as np

from ._state import SLOTS

# Per-problem scalars a new problem takes from the problems already there:
# the clocks (the update counter t, shared by the schedule, and the origin of
# the optimizer's clock, moved by a drift restart), and what follows from them
# whatever the data (NAdam's mu product, plain SGD's weight scale and its
# averaging factors): the new row is then exactly a zero row that was held
# at zero since the start. Every other scalar starts at its initial value
# (the intercept, the progressive loss, the cumulative L1 penalty, the rule's
# own scalars such as Prodigy's d).
SHARED_SCALARS = ("t", "clock0", "mu_product", "wscale", "average_a", "average_b")
# per-problem scalars that change sign with the labels of a binary problem
ODD_SCALARS = ("intercept", "average_intercept")


def _negated(a):
    # 0 - x: exact, and never a negative zero (the other row of a declared
    # model holds +0 where this one does)
    return np.subtract(a.dtype.type(0), a)


def slot_initial_values(spec):
    """The initial (weight, slot...) block of a coordinate of a new problem:
    zero weight, each slot at its initial value, the slots that start at the
    weights (``Optimizer.starts_at_weights``) at zero."""
    names = spec.slots()
    init = np.zeros(1 + len(names))
    init[1:] = spec.initial_values()
    for name in spec.starts_at_weights:
        init[1 + names.index(name)] = 0.0
    return init


# a race's per-problem bookkeeping (race.pxi); the softmax model's race keeps
# it per copy, the same in every class row (multinomial.pxi, _softmax_race_sync)
RACE_SCALARS = ("race_loss", "race_status", "race_share", "race_default", "served_loss",
                "served_n", "race_count", "race_zero_loss", "race_opened")


def _copy_specs(model, spec, members):
    """The update rule of each copy (one without a race)."""
    if model.copies == 1:
        return [spec]
    if members is None or len(members) != model.copies:
        raise ValueError("a rate race grows by its copies' update rules (members)")
    return list(members)


def add_problem(model, spec, pos, schedule_initial=None, members=None, softmax=False):
    """Insert a new problem before row ``pos`` of ``model`` (``spec``: the
    model's update rule; ``schedule_initial``: the initial row of a stateful
    schedule's state, None for zeros). Its weights are zero, its optimizer
    state initial, its clocks those of row 0.

    A rate race (``members``: each copy's update rule) gets one row per copy
    (rows ``pos * copies + c``), each with its copy's initial state and
    clocks. One-vs-rest: the new binary problem's race starts as a race
    does (every copy racing, zero discounted losses, the default copy
    serving first); the softmax model (``softmax``): the copies' race goes
    on, so each new row takes its copy's bookkeeping."""
    R = model.copies
    specs = _copy_specs(model, spec, members)
    blocks = model.weight_blocks
    old_scalars = model.scalars
    new_blocks, new_blocks_int, new_scalars = [], [], []
    widths = model.widths
    for c, spec_c in enumerate(specs):
        init = slot_initial_values(spec_c)
        if widths is not None:
            # per-rule widths: copy c's (d, widths[c]) blocks, flat
            row = np.zeros((model.n_features, widths[c]), dtype=blocks.dtype)
            row[:, : len(init)] = init
            row = row.ravel()
        elif model.interleaved:
            row = np.zeros(blocks.shape[1:], dtype=blocks.dtype)
            row[:, : len(init)] = init
        else:
            row = np.zeros(blocks.shape[1:], dtype=blocks.dtype)
            row[: len(init), :] = init[:, None]
        new_blocks.append(row)
        block = np.zeros(model.intercept_block.shape[1])
        block[: len(init)] = init
        new_blocks_int.append(block)
        scal = np.zeros(old_scalars.shape[1])
        scal[SLOTS["wscale"]] = scal[SLOTS["average_b"]] = scal[SLOTS["mu_product"]] = 1.0
        for i, (_, value) in enumerate(spec_c.scalar_state()):
            scal[SLOTS["rule"] + i] = value
        for name in SHARED_SCALARS:
            scal[SLOTS[name]] = old_scalars[c, SLOTS[name]]
        if R > 1 and softmax:
            for name in RACE_SCALARS:
                scal[SLOTS[name]] = old_scalars[c, SLOTS[name]]
        elif R > 1:
            default = old_scalars[0, SLOTS["race_default"]]
            scal[SLOTS["race_default"]] = default
            scal[SLOTS["race_share"]] = float(c == int(default))
        new_scalars.append(scal)
    at = pos * R
    if widths is not None:
        # each binary problem's copies are back to back: insert a whole one
        per = model.n_features * sum(widths)
        model.weight_blocks = np.concatenate([blocks[: pos * per], *new_blocks, blocks[pos * per:]])
        model.width_shape = (model.width_shape[0] + R, model.width_shape[1])
    else:
        model.weight_blocks = _insert_rows(blocks, at, new_blocks)
    for name in ("average_weights", "l1_received", "last_update"):
        a = getattr(model, name)
        setattr(model, name, _insert_rows(a, at, [np.zeros(a.shape[1:], dtype=a.dtype)] * R))
    model.intercept_block = _insert_rows(model.intercept_block, at, new_blocks_int)
    model.scalars = _insert_rows(old_scalars, at, new_scalars)
    width = model.schedule_state.shape[1]
    sched = np.zeros(width)
    if schedule_initial is not None and np.shape(schedule_initial) == (width,):
        sched[:] = schedule_initial
    model.schedule_state = _insert_rows(model.schedule_state, at, [sched] * R)
    model.engine = None


def _insert_rows(a, pos, rows):
    """``a`` with ``rows`` inserted before row ``pos`` (a new array)."""
    return np.concatenate([a[:pos], np.asarray(rows, dtype=a.dtype).reshape(
        (len(rows),) + a.shape[1:]), a[pos:]])


def split_binary(model, spec, members=None):
    """Turn the one row of a binary model into the two one-vs-rest rows of
    its classes, in their order: the negative class's (the row negated,
    with its sign-odd state) then the positive class's (the row as it is).
    The two rows of a model declared with both classes from the start stay
    exactly opposite, so this is the state such a model would hold. A rate
    race (``members``: each copy's update rule) splits each copy so; both
    binary problems keep the race's bookkeeping (their losses are equal)."""
    R = model.copies
    if model.n_problems != R:
        raise ValueError("only a binary model splits into two rows")
    specs = _copy_specs(model, spec, members)
    blocks = model.weight_blocks
    widths = model.widths
    neg_blocks, neg_int, neg_scal = [], [], []
    start = 0
    for c, spec_c in enumerate(specs):
        names = spec_c.slots()
        odd = [1 + names.index(name) for name in spec_c.sign_odd_slots if name in names]
        if widths is not None:
            # per-rule widths: copy c's (d, widths[c]) blocks, flat
            size = model.n_features * widths[c]
            neg = blocks[start: start + size].reshape(model.n_features, widths[c]).copy()
            start += size
        else:
            neg = blocks[c].copy()
        for s in [0, *odd]:
            if model.interleaved:
                neg[:, s] = _negated(neg[:, s])
            else:
                neg[s] = _negated(neg[s])
        neg_blocks.append(neg)
        block = model.intercept_block[c].copy()
        for s in [0, *odd]:
            block[s] = _negated(block[s : s + 1])[0]
        neg_int.append(block)
        scal = model.scalars[c].copy()
        for name in ODD_SCALARS:
            scal[SLOTS[name]] = _negated(scal[SLOTS[name] : SLOTS[name] + 1])[0]
        neg_scal.append(scal)
    if widths is not None:
        model.weight_blocks = np.concatenate([*(b.ravel() for b in neg_blocks), blocks])
        model.width_shape = (2 * R, model.width_shape[1])
    else:
        model.weight_blocks = np.concatenate([np.stack(neg_blocks), blocks])
    for name, sign_odd in (("average_weights", True), ("l1_received", True),
                           ("last_update", False)):
        a = getattr(model, name)
        setattr(model, name, np.concatenate([_negated(a) if sign_odd else a.copy(), a]))
    model.intercept_block = np.concatenate([np.stack(neg_int), model.intercept_block])
    model.scalars = np.concatenate([np.stack(neg_scal), model.scalars])
    model.schedule_state = np.concatenate([model.schedule_state] * 2)
    model.engine = None


# the classifier's new_classes parameter (its docstring takes it in at
# %(new_classes_parameters)s)
NEW_CLASSES_PARAMETERS = """    new_classes : {"error", "add"}, default="error"
        What ``partial_fit`` and ``learn_one`` do with a label not in
        ``classes_``: ``"error"`` raises a ``ValueError`` naming it (the
        model unchanged); ``"add"`` adds its class, from that sample on
        (no ``classes`` needed on the first call): ``classes_`` grows,
        sorted; the new class's row starts with zero weights, zero
        intercept and the optimizer's initial state (its own scalars, such
        as Prodigy's ``d``, too), sharing the model's clocks (``t_``, the
        schedule's and the optimizer's step counter), and the other rows
        are untouched. The second class makes the binary problem; the
        third turns the binary row into one-vs-rest rows: the old positive
        class keeps the row and its state, the old negative class gets the
        row negated, with the state that changes sign with it
        (``Optimizer.sign_odd_slots``): what a model declared
        with all classes from the start holds, its two rows being opposite
        while only two classes were seen. Under
        ``multi_class="multinomial"`` the third class instead gives the old
        negative class a zero row (the softmax of ``(0, m)`` is the binary
        model's sigmoid of ``m``, so predictions are unchanged), and every
        class after it a zero row of the softmax. With one class seen, the model
        predicts it and learns nothing (``t_`` stays; ``class_counts_``
        counts the samples). A call splits where a new class first
        appears, so any chunking of a stream, or ``learn_one``, gives the
        same model. Averaging counts the new row as zero before its class
        appeared; ``class_weight="balanced"`` counts the classes seen so
        far. With a race (``"auto"``), every copy gets the new row, with its
        own update rule's initial state; a new one-vs-rest problem starts
        its own race (every copy racing, the default copy serving first),
        while the softmax model's race goes on.
"""
