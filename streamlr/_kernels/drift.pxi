# A model's drift detector in the loop: what the loop feeds it and how the
# model reacts when it flags drift. The detector itself (ADWIN, Page-Hinkley)
# is drift.pxd's; its state is the model's array ``drift_state``. Included by
# sgd.pyx, before loop.pxi.
#
# The loop (loop.pxi, its ``int`` specialisation) feeds the detector each
# sample's 0/1 error (classifiers: the sign of the decision value made before
# learning against the label) or loss (regressors) and, when it flags drift
# on sample i, reacts after sample i's update, before sample i + 1 is
# predicted. One-vs-rest feeds one detector the multiclass error: its binary
# problems learn side by side up to the next sample that may flag drift
# (events.pxi, ``_drift_lockstep``), then react together.
#
# The reactions (``on_drift``):
#   restart  the optimizer starts again from the current weights: every
#            slot back to its initial value (or to the weight, for the slots
#            that start there: Prodigy's p0, schedule-free's z), the rule's
#            scalars and NAdam's product back to theirs, the stamps of sparse
#            rows to 0, the schedule's state (ReduceOnPlateau) to its
#            initial one, and the clock of the optimizer and the schedule
#            (t - clock0) back to 1 for the next update; t itself (t_) goes on;
#            when averaging, the average starts again too, as in a model made
#            from the current weights (coef_init): plain SGD's scale folded
#            into the weights, the averaging state back to its initial one
#            (zeros, Bottou's a = 0 and b = 1, the averaged intercept the
#            intercept); the average takes the iterates from update
#            ``average`` of the new clock on, and the model serves its
#            current weights until then;
#   reset    the same, after putting the weights back to zero (the intercept,
#            plain SGD's scale and cumulative L1 penalty with them);
#   none     only records the detection.
#
# A rate race (learning_rate="auto", optimizer="auto"; race.pxi) feeds the
# detector what it serves: its copies and binary problems learn side by side
# up to the next sample that may flag drift (events.pxi,
# ``_race_drift_lockstep``), the race serves those samples, and the detector
# sees the served decision value's 0/1 error (one-vs-rest: the multiclass
# error of the served values) or the served loss. On drift, "restart" and
# "reset" make every copy still in the race react as above, each with its own
# rule's template, and re-open the race (``_race_reopen``: discounted losses
# and shares back to their start, the default copy serving first, sleeping
# and never-served copies racing again).

cdef enum:
    ON_DRIFT_NONE = 0
    ON_DRIFT_RESTART = 1
    ON_DRIFT_RESET = 2


cdef struct DriftLoop:
    Drift det                       # the detector, bound to the model's array
    int on_drift                    # ON_DRIFT_*
    bint feed_loss                  # regressors: the loss; classifiers: the 0/1 error
    # what a restart puts back (the model's update rule, its schedule); a
    # rate race has one template per copy (copy c's at + c * n_slots and
    # + c * RULE_SCALARS; ``_drift_react_problem`` points at it)
    int n_slots
    int templates                   # 1, or the race's copies
    const double* slot_init         # each slot's initial value
    const unsigned char* slot_from_w  # 1 for a slot that starts at the weight
    const double* rule_init         # the rule's scalars (RULE_SCALARS)
    const double* sched_init        # the schedule's initial state
    Py_ssize_t sched_n
    # the positions (in the pass) of the samples that flagged drift
    Py_ssize_t* found
    Py_ssize_t n_found
    Py_ssize_t cap_found
    bint out_of_memory
    # called before a reaction changes anything (the engine's
    # ``_widen_snapshot``, snapshot.pxi: a call's snapshot of a few columns
    # then takes every column); False: no memory for it, and the reaction is
    # skipped (out_of_memory is set: the call fails and rolls back)
    void* owner
    bint (*before_react)(void* owner) noexcept nogil


cdef inline double drift_input(const DriftLoop* dl, double y, double p, double cur_loss) noexcept nogil:
    """What the detector is fed for one sample: its loss, or whether the
    decision value's sign missed the label's."""
    if dl.feed_loss:
        return cur_loss
    return 1.0 if (p > 0.0) != (y > 0.0) else 0.0


cdef bint drift_log(DriftLoop* dl, Py_ssize_t i) noexcept nogil:
    """Record a detection at position i of the pass; False when out of memory."""
    cdef Py_ssize_t cap
    cdef void* p
    if dl.n_found == dl.cap_found:
        cap = 16 if dl.cap_found == 0 else 2 * dl.cap_found
        p = realloc(dl.found, cap * sizeof(Py_ssize_t))
        if p == NULL:
            dl.out_of_memory = True
            return False
        dl.found = <Py_ssize_t*>p
        dl.cap_found = cap
    dl.found[dl.n_found] = i
    dl.n_found += 1
    return True


cdef void drift_react(const DriftLoop* dl, floating* w, Py_ssize_t d, Py_ssize_t S,
                      Py_ssize_t T, double* oint, long long* stamp, floating* q, floating* aw,
                      Scalars* s, double* sched_state, double t) noexcept nogil:
    """React to a detection on one binary problem (see the file's comment);
    ``t`` is the kernel's t of the next update (updates made + 1).
    ``oint``: the intercept's block (intercept, slots), or NULL; ``stamp``
    and ``q`` likewise; ``aw`` the averaged weights, or NULL.
    O(n_features * slots), once per detection."""
    cdef Py_ssize_t j, k
    cdef int n_slots = dl.n_slots
    cdef floating* b
    cdef floating ws
    if dl.on_drift == ON_DRIFT_NONE:
        return
    if dl.before_react != NULL and not dl.before_react(dl.owner):
        return
    if dl.on_drift == ON_DRIFT_RESET:
        for j in range(d):
            w[j * S] = 0
        s.intercept = 0.0
        s.wscale = 1.0
        s.u = 0.0
        s.sq_norm = 0.0
        s.l1_norm = 0.0
        if q != NULL:
            for j in range(d):
                q[j] = 0
    for j in range(d):
        b = w + j * S
        for k in range(n_slots):
            b[(k + 1) * T] = b[0] if dl.slot_from_w[k] else <floating>dl.slot_init[k]
    if oint != NULL:
        oint[0] = s.intercept
        for k in range(n_slots):
            oint[1 + k] = s.intercept if dl.slot_from_w[k] else dl.slot_init[k]
    if stamp != NULL:
        for j in range(d):
            stamp[j] = 0
    if aw != NULL:
        # the average starts again, as in a model made from the current weights
        if s.wscale != 1.0:
            ws = <floating>s.wscale
            for j in range(d):
                w[j * S] *= ws
            s.wscale = 1.0
        for j in range(d):
            aw[j] = 0
        s.average_a = 0.0
        s.average_b = 1.0
        s.average_intercept = s.intercept
    for k in range(RULE_SCALARS):
        s.rule[k] = dl.rule_init[k]
    s.mu_product = 1.0
    if dl.sched_n:
        memcpy(sched_state, dl.sched_init, dl.sched_n * sizeof(double))
    s.clock0 = t - 1.0
