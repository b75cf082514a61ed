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


def _insert(a, pos, row):
    """``a`` with ``row`` inserted before row ``pos`` (a new array)."""
    return np.concatenate([a[:pos], np.asarray(row, dtype=a.dtype)[None], a[pos:]])


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


def add_problem(model, spec, pos, schedule_initial=None):
    """Insert a new problem before row ``pos`` of ``model`` (``spec``: the
    model's update rule; ``schedule_initial``: the initial row of a stateful
    schedule's state, None for zeros). Its weights are zero, its optimizer
    state initial, its clocks those of row 0."""
    if model.copies != 1:
        raise ValueError("a rate race cannot grow new problems")
    init = slot_initial_values(spec)
    blocks = model.weight_blocks
    row = np.zeros(blocks.shape[1:], dtype=blocks.dtype)
    if model.interleaved:
        row[:, : len(init)] = init
    else:
        row[: len(init), :] = init[:, None]
    model.weight_blocks = _insert(blocks, pos, row)
    for name in ("average_weights", "l1_received", "last_update"):
        a = getattr(model, name)
        setattr(model, name, _insert(a, pos, np.zeros(a.shape[1:], dtype=a.dtype)))
    block = np.zeros(model.intercept_block.shape[1])
    block[: len(init)] = init
    model.intercept_block = _insert(model.intercept_block, pos, block)
    scal = np.zeros(model.scalars.shape[1])
    scal[SLOTS["wscale"]] = scal[SLOTS["average_b"]] = scal[SLOTS["mu_product"]] = 1.0
    for i, (_, value) in enumerate(spec.scalar_state()):
        scal[SLOTS["rule"] + i] = value
    for name in SHARED_SCALARS:
        scal[SLOTS[name]] = model.scalars[0, SLOTS[name]]
    model.scalars = _insert(model.scalars, pos, scal)
    width = model.schedule_state.shape[1]
    sched = np.zeros(width)
    if schedule_initial is not None and np.shape(schedule_initial) == (width,):
        sched[:] = schedule_initial
    model.schedule_state = _insert(model.schedule_state, pos, sched)
    model.engine = None


def split_binary(model, spec):
    """Turn the one row of a binary model into the two one-vs-rest rows of
    its classes, in their order: the negative class's (the row negated,
    with its sign-odd state) then the positive class's (the row as it is).
    The two rows of a model declared with both classes from the start stay
    exactly opposite, so this is the state such a model would hold."""
    if model.copies != 1 or model.n_problems != 1:
        raise ValueError("only a binary model without a rate race splits into two rows")
    names = spec.slots()
    odd = [1 + names.index(name) for name in spec.sign_odd_slots if name in names]
    blocks = model.weight_blocks
    neg = blocks[0].copy()
    for s in [0, *odd]:
        if model.interleaved:
            neg[:, s] = _negated(neg[:, s])
        else:
            neg[s] = _negated(neg[s])
    model.weight_blocks = np.stack([neg, blocks[0]])
    for name, sign_odd in (("average_weights", True), ("l1_received", True),
                           ("last_update", False)):
        a = getattr(model, name)
        setattr(model, name, np.stack([_negated(a[0]) if sign_odd else a[0], a[0]]))
    block = model.intercept_block[0].copy()
    for s in [0, *odd]:
        block[s] = _negated(block[s : s + 1])[0]
    model.intercept_block = np.stack([block, model.intercept_block[0]])
    scal = model.scalars[0].copy()
    for name in ODD_SCALARS:
        scal[SLOTS[name]] = _negated(scal[SLOTS[name] : SLOTS[name] + 1])[0]
    model.scalars = np.stack([scal, model.scalars[0]])
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
        while only two classes were seen. With one class seen, the model
        predicts it and learns nothing (``t_`` stays; ``class_counts_``
        counts the samples). A call splits where a new class first
        appears, so any chunking of a stream, or ``learn_one``, gives the
        same model. Averaging counts the new row as zero before its class
        appeared; ``class_weight="balanced"`` counts the classes seen so
        far. Not available with a race (``"auto"``).
"""
