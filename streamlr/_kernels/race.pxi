# The rate race (learning_rate="auto"): R copies of each binary problem
# learn side by side, one per candidate rate, and the model serves a
# weighted average of them. Included by sgd.pyx, after loop.pxi.
#
# The copies are problems of the engine like any other (copy c of binary
# problem b is problem b * R + c): each learns from its own predictions with
# its own rate, through the one per-sample loop, which records the decision
# value it made of each row before learning from it (Pass.margins). What is
# served depends on the copies only through those values, so it is computed
# afterwards, row by row in order, by ``_race_combine``. Chunking a call, or
# visiting a block of rows copy after copy, changes nothing.
#
# The serving rule: exponentially weighted averaging (Vovk's aggregating
# algorithm / Hedge; Cesa-Bianchi and Lugosi, "Prediction, Learning, and
# Games", ch. 2-3). The share of copy c before a row is
#     share_c ~ exp(prior_c - eta / scale * (L_c - min_c' L_c'))
# over the copies still served, where L_c is the copy's discounted sum of
# progressive losses (L_c <- discount * L_c + loss_c), scale the mean
# progressive loss served so far (which makes eta free of the loss's units)
# and prior_c the copy's log prior weight (the default copy serves before any
# evidence). The served decision value is sum_c share_c * p_c: serving the
# share-weighted average of the copies' weights, which is what coef_ shows.
# Two guards: before a row is served, a racing copy whose decision value
# strays from the leading copy's (the largest share) by more than ``wild``
# times (|leader's value| + the mean absolute target so far) is never served
# again: it keeps learning and its loss keeps counting, but a copy about to
# blow up cannot reach what is served. A copy whose prediction or state
# became non-finite leaves the race (its state goes back to the call's
# start).

cdef enum:
    MAX_COPIES = 64
    RACE_RACING = 0
    RACE_WILD = 1
    RACE_OUT = 2


cdef struct RaceRule:
    int copies          # R: copies per binary problem (1: no race)
    double discount     # of the copies' progressive losses
    double eta          # the learning rate of the weights, per unit of scale
    double wild         # a decision value that far from the leader's bans a copy


cdef inline void _race_shares(double* scalars, int b, const RaceRule* rule, const Py_ssize_t* valid,
                              Py_ssize_t i, double* share) noexcept nogil:
    """The shares of binary problem b's copies before row i (valid: rows with
    a decision value per copy; NULL: every copy still in the race)."""
    cdef int R = rule.copies, c, level
    cdef double* first = scalars + (<Py_ssize_t>b * R) * N_SLOTS
    cdef double* row
    cdef double n = first[SLOT_SERVED_N], scale, best, total, z, gap
    cdef bint any_in = False
    for c in range(R):
        share[c] = 0.0
    # the copies served: the racing ones; if none is left, those never served
    # again come back (they still learn); a copy out of the race never does
    for level in range(RACE_RACING, RACE_OUT):
        best = INFINITY
        for c in range(R):
            row = first + c * N_SLOTS
            if row[SLOT_RACE_STATUS] == level and (valid == NULL or i < valid[c]):
                any_in = True
                if row[SLOT_RACE_LOSS] < best:
                    best = row[SLOT_RACE_LOSS]
        if any_in:
            break
    if not any_in:
        return
    scale = first[SLOT_SERVED_LOSS] / n if n > 0 else 0.0
    z = rule.eta / scale if 1e-300 < scale < INFINITY else 0.0
    total = 0.0
    for c in range(R):
        row = first + c * N_SLOTS
        if row[SLOT_RACE_STATUS] == level and (valid == NULL or i < valid[c]):
            gap = row[SLOT_RACE_LOSS] - best
            share[c] = exp(row[SLOT_RACE_PRIOR] - z * gap) if z > 0.0 and gap > 0.0 else \
                exp(row[SLOT_RACE_PRIOR])
            if not gap < INFINITY:
                share[c] = 0.0
            total += share[c]
    for c in range(R):
        share[c] /= total


cdef void _race_combine(double* scalars, int b, const RaceRule* rule, Loss loss,
                        const floating* ys, Py_ssize_t n_rows, const double* margins,
                        Py_ssize_t stride, const Py_ssize_t* valid) noexcept nogil:
    """Serve rows 0..n_rows-1 of binary problem b from its copies' decision
    values ``margins[c * stride + i]`` (valid for i < valid[c]): add the
    served progressive loss, update each copy's discounted loss and status,
    then store the shares that serve from now on (SLOT_RACE_SHARE)."""
    cdef int R = rule.copies, c
    cdef double* first = scalars + (<Py_ssize_t>b * R) * N_SLOTS
    cdef double* row
    cdef double share[MAX_COPIES]
    cdef double n, served, loss_served, loss_c, y, lead, bound, top
    cdef Py_ssize_t i
    cdef int leader
    cdef bint banned
    for i in range(n_rows):
        y = ys[i]
        _race_shares(scalars, b, rule, valid, i, share)
        # the guard: copies straying far from the leader are never served again
        leader, top = 0, -1.0
        for c in range(R):
            if share[c] > top:
                leader, top = c, share[c]
        lead = margins[leader * stride + i]
        n = first[SLOT_SERVED_N]
        bound = rule.wild * (fabs(lead) + (first[SLOT_TARGET_ABS] / n if n > 0 else 1.0))
        banned = False
        for c in range(R):
            row = first + c * N_SLOTS
            if i < valid[c] and row[SLOT_RACE_STATUS] == RACE_RACING and not (
                    fabs(margins[c * stride + i] - lead) <= bound):
                row[SLOT_RACE_STATUS] = RACE_WILD
                banned = True
        if banned:
            _race_shares(scalars, b, rule, valid, i, share)
        served = 0.0
        for c in range(R):
            if share[c] > 0.0:
                served += share[c] * margins[c * stride + i]
        loss_served = loss.loss(y, served)
        first[SLOT_SERVED_LOSS] += loss_served
        first[SLOT_SERVED_N] += 1.0
        first[SLOT_TARGET_ABS] += fabs(y)
        for c in range(R):
            if i >= valid[c]:
                continue
            row = first + c * N_SLOTS
            loss_c = loss.loss(y, margins[c * stride + i])
            row[SLOT_RACE_LOSS] = rule.discount * row[SLOT_RACE_LOSS] + loss_c
    _race_shares(scalars, b, rule, NULL, 0, share)
    for c in range(R):
        first[c * N_SLOTS + SLOT_RACE_SHARE] = share[c]
