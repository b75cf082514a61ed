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
# The serving rule, chosen from measurements (bench/bench_no_rate.py, on
# raw-feature streams, with held-back streams): exponentially weighted
# averaging (Hedge / Vovk's aggregating algorithm; Cesa-Bianchi and Lugosi,
# "Prediction, Learning, and Games", ch. 2-3) of the copies' decision values,
# which serves the share-weighted average of their weights (what coef_
# shows). Each copy keeps a discounted loss S_c <- discount * S_c + w loss_c
# and the race a discounted count n <- discount * n + w, w the row's weight
# in the objective (sample_weight times its class weight: the copies are
# judged by the loss the user asked them to minimise; the guards below look
# at the unweighted loss of the row); before a row,
#     share_c ~ exp(-eta * (S_c - S_min) / (S_min / n))
# over the copies served, S_min the leader's: the leader's mean recent loss
# sets the scale, so eta is free of the loss's units. Guards:
#   * the default copy (the smallest rate) serves alone for the first
#     ``first_rows`` rows, before any evidence;
#   * a copy whose loss on a row exceeds ``wild`` times the largest loss of
#     predicting 0 seen so far, or (classifiers, log-link regressors) whose
#     |decision value| exceeds ``bound``, is never served again; it keeps learning and its
#     loss keeps counting (if no copy is left to serve, the one with the
#     lowest S serves);
#   * a copy whose prediction or state became non-finite leaves the race (its
#     state goes back to the call's start).
#
# What it costs: every copy learns every row, so R copies cost about R
# models. To bound that, the race narrows: once ``warmup`` rows have been
# served, every ``period`` rows (counted per binary problem, so the same
# rows whatever the chunking) only the ``awake`` copies with the lowest
# discounted loss stay in; the others sleep (they neither learn nor serve,
# and keep their state). Passes are cut at those rows, so that no copy learns
# a row past the point where it fell asleep.
#
# A restart on drift (drift.pxi) re-opens the race (``_race_reopen``): the
# clock of ``first_rows``, ``warmup`` and ``period`` is the rows served since
# the race last opened (SLOT_SERVED_N - SLOT_RACE_OPENED, 0 for a race that
# never re-opened), so the default copy serves alone first again and the race
# narrows again ``warmup`` rows later.

cdef enum:
    MAX_COPIES = 64
    RACE_RACING = 0
    RACE_WILD = 1
    RACE_OUT = 2
    RACE_ASLEEP = 3


# a copy's loss on a row counts at most this much (an overflowing loss would
# otherwise stop the discounted sums from ever forgetting it)
cdef double RACE_BIG_LOSS = 1e100


cdef struct RaceRule:
    int copies          # R: copies per binary problem (1: no race)
    double discount     # of the copies' losses and of the count
    double eta          # the learning rate of the shares, per unit of the leader's mean loss
    double wild         # a loss above wild * (largest loss of predicting 0) bans a copy
    double bound        # so does a |decision value| above it (inf: no bound)
    double first_rows   # rows the default copy serves alone
    double warmup       # rows served before the race narrows
    double period       # rows between two narrowings
    int awake           # copies that stay in at a narrowing


cdef inline int _race_active(const double* first, int R, const Py_ssize_t* valid, Py_ssize_t i,
                             int* act) noexcept nogil:
    """Into ``act``, in order, the copies still in the race (racing or never
    served again) with a decision value for row i (valid: rows with a value
    per copy; NULL: every copy's). Returns how many."""
    cdef int c, n_act = 0
    cdef double status
    for c in range(R):
        status = first[c * N_SLOTS + SLOT_RACE_STATUS]
        if (status == RACE_RACING or status == RACE_WILD) and (valid == NULL or i < valid[c]):
            act[n_act] = c
            n_act += 1
    return n_act


cdef inline double _race_shares_of(const double* first, const RaceRule* rule, const int* act,
                                   int n_act, double* share) noexcept nogil:
    """The shares of the copies ``act[:n_act]`` (``_race_active``) into
    share[c] (the other copies' shares are 0, left to the caller). Returns
    the sum the shares were divided by, or -1 when none was."""
    cdef int c, j, pick = -1, default = <int>first[SLOT_RACE_DEFAULT]
    cdef const double* row
    cdef double lead = INFINITY, fallback = INFINITY, n = first[SLOT_RACE_COUNT], eta, total
    cdef bint any_eligible = False, default_eligible = False
    for j in range(n_act):
        c = act[j]
        share[c] = 0.0
        row = first + c * N_SLOTS
        if row[SLOT_RACE_LOSS] < fallback or pick < 0:
            fallback, pick = row[SLOT_RACE_LOSS], c
        if row[SLOT_RACE_STATUS] == RACE_RACING:
            any_eligible = True
            if c == default:
                default_eligible = True
            if row[SLOT_RACE_LOSS] < lead:
                lead = row[SLOT_RACE_LOSS]
    if not any_eligible:
        if pick >= 0:            # only copies never served again are left: the best
            share[pick] = 1.0
        return -1.0
    if first[SLOT_SERVED_N] - first[SLOT_RACE_OPENED] < rule.first_rows and default_eligible:
        share[default] = 1.0     # before any evidence, the default copy
        return -1.0
    if n > 0 and lead > 0 and lead < INFINITY:
        eta = rule.eta / (lead / n)
        total = 0.0
        for j in range(n_act):
            c = act[j]
            row = first + c * N_SLOTS
            if row[SLOT_RACE_STATUS] == RACE_RACING:
                # the leader's: exp(-0.0), 1 exactly
                share[c] = 1.0 if row[SLOT_RACE_LOSS] == lead and eta < INFINITY else exp(
                    -eta * (row[SLOT_RACE_LOSS] - lead))
                total += share[c]
        for j in range(n_act):
            share[act[j]] /= total
        return total
    # a leader without loss: follow it (the default copy among equals)
    pick = -1
    for j in range(n_act):
        c = act[j]
        if first[c * N_SLOTS + SLOT_RACE_STATUS] == RACE_RACING and (
                first[c * N_SLOTS + SLOT_RACE_LOSS] - lead <= 1e-12 * fabs(lead)):
            if pick < 0 or c == default:
                pick = c
    share[pick] = 1.0
    return -1.0


cdef inline void _race_shares(double* scalars, int b, const RaceRule* rule, const Py_ssize_t* valid,
                              Py_ssize_t i, double* share) noexcept nogil:
    """The shares of binary problem b's copies before row i (valid: rows with
    a decision value per copy; NULL: every copy still learning)."""
    cdef int R = rule.copies, c, j, n_act
    cdef double* first = scalars + (<Py_ssize_t>b * R) * N_SLOTS
    cdef int act[MAX_COPIES]
    cdef bint active[MAX_COPIES]
    cdef double total
    n_act = _race_active(first, R, valid, i, act)
    for c in range(R):
        share[c] = 0.0
        active[c] = False
    for j in range(n_act):
        active[act[j]] = True
    total = _race_shares_of(first, rule, act, n_act, share)
    if total != -1.0:
        for c in range(R):
            if not active[c]:
                share[c] /= total    # 0 (NaN if the sum is)


cdef inline Py_ssize_t _race_rows_to_narrowing(const double* scalars, int b,
                                               const RaceRule* rule) noexcept nogil:
    """Rows binary problem b may learn before the race next narrows (a
    pass stops there, so that the copies put to sleep learn no further)."""
    cdef const double* first = scalars + (<Py_ssize_t>b * rule.copies) * N_SLOTS
    cdef double n = first[SLOT_SERVED_N] - first[SLOT_RACE_OPENED]
    cdef double at
    if rule.awake >= rule.copies:
        return 1 << 62
    if n < rule.warmup:
        at = rule.warmup
    else:
        at = (floor((n - rule.warmup) / rule.period) + 1.0) * rule.period + rule.warmup
    return <Py_ssize_t>(at - n)


cdef void _race_narrow(double* scalars, int b, const RaceRule* rule) noexcept nogil:
    """Keep the ``awake`` copies of b with the lowest discounted loss (the
    racing ones first); the others that still learn fall asleep."""
    cdef int R = rule.copies, c, j, kept = 0, best
    cdef double* first = scalars + (<Py_ssize_t>b * R) * N_SLOTS
    cdef bint keep[MAX_COPIES]
    cdef int level
    for c in range(R):
        keep[c] = False
    for level in range(RACE_RACING, RACE_OUT):
        while kept < rule.awake:
            best = -1
            for c in range(R):
                if not keep[c] and first[c * N_SLOTS + SLOT_RACE_STATUS] == level and (
                        best < 0 or first[c * N_SLOTS + SLOT_RACE_LOSS]
                        < first[best * N_SLOTS + SLOT_RACE_LOSS]):
                    best = c
            if best < 0:
                break
            keep[best] = True
            kept += 1
    for c in range(R):
        j = c * N_SLOTS + SLOT_RACE_STATUS
        if not keep[c] and (first[j] == RACE_RACING or first[j] == RACE_WILD):
            first[j] = RACE_ASLEEP


cdef double _race_serve_listed(double* scalars, int b, const RaceRule* rule, Loss loss, double y,
                               double w, const double* margins, const double* losses, Py_ssize_t stride,
                               const Py_ssize_t* valid, Py_ssize_t i, double* zero_memo,
                               int* act, int* n_act) noexcept nogil:
    """``_race_serve_row`` with the copies that serve row i already listed
    (``act[:n_act[0]]``, ``_race_active``); listed again, for row i + 1,
    where the race narrows. ``w``: the row's weight in the objective (a
    negative one counts as 0)."""
    cdef int R = rule.copies, c, j
    cdef double* first = scalars + (<Py_ssize_t>b * R) * N_SLOTS
    cdef double* row
    cdef double share[MAX_COPIES]
    cdef double served, loss_c, m, zero
    _race_shares_of(first, rule, act, n_act[0], share)
    served = 0.0
    for j in range(n_act[0]):
        c = act[j]
        if share[c] > 0.0:
            served += share[c] * margins[c * stride + i]
    first[SLOT_SERVED_LOSS] += loss.loss(y, served)
    first[SLOT_SERVED_N] += 1.0
    if not w > 0.0:
        w = 0.0
    first[SLOT_RACE_COUNT] = rule.discount * first[SLOT_RACE_COUNT] + w
    if zero_memo == NULL:
        zero = loss.loss(y, 0.0)
    elif memcmp(&y, zero_memo, sizeof(double)) == 0:
        zero = zero_memo[1]
    else:
        zero = loss.loss(y, 0.0)
        zero_memo[0], zero_memo[1] = y, zero
    if zero > first[SLOT_RACE_ZERO_LOSS]:
        first[SLOT_RACE_ZERO_LOSS] = zero
    for j in range(n_act[0]):
        c = act[j]
        row = first + c * N_SLOTS
        m = margins[c * stride + i]
        loss_c = losses[c * stride + i] if losses != NULL else loss.loss(y, m)
        row[SLOT_RACE_LOSS] = rule.discount * row[SLOT_RACE_LOSS] + w * (
            loss_c if loss_c < RACE_BIG_LOSS else RACE_BIG_LOSS)
        if row[SLOT_RACE_STATUS] == RACE_RACING and (
                not loss_c <= rule.wild * first[SLOT_RACE_ZERO_LOSS]
                or fabs(m) > rule.bound):
            row[SLOT_RACE_STATUS] = RACE_WILD
    if rule.awake < R and first[SLOT_SERVED_N] - first[SLOT_RACE_OPENED] >= rule.warmup and fmod(
            first[SLOT_SERVED_N] - first[SLOT_RACE_OPENED] - rule.warmup, rule.period) == 0.0:
        _race_narrow(scalars, b, rule)
        n_act[0] = _race_active(first, R, valid, i + 1, act)
    return served


cdef double _race_serve_row(double* scalars, int b, const RaceRule* rule, Loss loss, double y,
                            double w, const double* margins, const double* losses, Py_ssize_t stride,
                            const Py_ssize_t* valid, Py_ssize_t i, double* zero_memo) noexcept nogil:
    """Serve row i of binary problem b from its copies' decision values
    ``margins[c * stride + i]`` (valid for i < valid[c]): add the served
    progressive loss, update each copy's discounted loss and status (and
    narrow the race where it narrows). Returns the served decision value.
    ``losses`` (or NULL): each copy's loss on the row, as its pass measured
    it (``loss.loss(y, margin)``, the same number); ``zero_memo`` (or NULL):
    the last target (NaN at first) and its loss of predicting 0, reused
    while the target's bits stay the same (a classifier's targets are two);
    ``w``: the row's weight in the objective."""
    cdef int act[MAX_COPIES]
    cdef int n_act = _race_active(scalars + (<Py_ssize_t>b * rule.copies) * N_SLOTS, rule.copies,
                                  valid, i, act)
    return _race_serve_listed(scalars, b, rule, loss, y, w, margins, losses, stride, valid, i,
                              zero_memo, act, &n_act)


cdef void _race_store_shares(double* scalars, int b, const RaceRule* rule) noexcept nogil:
    """Store the shares that serve binary problem b from now on (SLOT_RACE_SHARE)."""
    cdef int c
    cdef double share[MAX_COPIES]
    cdef double* first = scalars + (<Py_ssize_t>b * rule.copies) * N_SLOTS
    _race_shares(scalars, b, rule, NULL, 0, share)
    for c in range(rule.copies):
        first[c * N_SLOTS + SLOT_RACE_SHARE] = share[c]


cdef void _race_combine(double* scalars, int b, const RaceRule* rule, Loss loss,
                        const floating* ys, const floating* ws, double weight_pos,
                        double weight_neg, const Py_ssize_t* order, Py_ssize_t n_rows,
                        const double* margins, const double* losses, Py_ssize_t stride,
                        const Py_ssize_t* valid) noexcept nogil:
    """Serve rows 0..n_rows-1 of binary problem b (``_race_serve_row``; the
    target of row i is ``ys[order[i]]``, or ``ys[i]`` with order NULL; its
    weight ``ws`` there (NULL: 1) times ``weight_pos`` for a positive
    target, else ``weight_neg``, as the loop weighs it), then store the
    shares that serve from now on (SLOT_RACE_SHARE)."""
    cdef Py_ssize_t i, r, until = 0
    cdef double y, w
    cdef double zero_memo[2]
    cdef int act[MAX_COPIES]
    cdef int n_act = 0, j
    cdef double* first = scalars + (<Py_ssize_t>b * rule.copies) * N_SLOTS
    zero_memo[0], zero_memo[1] = NAN, NAN
    for i in range(n_rows):
        if i >= until:
            # the copies that serve from row i on, until one of them has no value
            n_act = _race_active(first, rule.copies, valid, i, act)
            until = n_rows
            for j in range(n_act):
                if valid[act[j]] < until:
                    until = valid[act[j]]
        r = order[i] if order != NULL else i
        y = ys[r]
        w = (weight_pos if y > 0.0 else weight_neg) * (<double>ws[r] if ws != NULL else 1.0)
        _race_serve_listed(scalars, b, rule, loss, y, w, margins, losses, stride, valid, i,
                           zero_memo, act, &n_act)
    _race_store_shares(scalars, b, rule)


cdef void _race_reopen(double* scalars, int b, const RaceRule* rule) noexcept nogil:
    """Re-open binary problem b's race (a restart on drift, drift.pxi): every
    copy still in it (racing, never served again, or asleep) races again,
    from no evidence: the discounted losses and count back to 0, the clock
    of ``first_rows``, ``warmup`` and ``period`` back to 0 (the default copy
    serves alone first, the race narrows again after ``warmup`` rows), the
    shares back to the default copy's. Copies that left the race (diverged)
    stay out; the served progressive loss and the largest loss of
    predicting 0 (a guard's scale) go on."""
    cdef int c
    cdef double* first = scalars + (<Py_ssize_t>b * rule.copies) * N_SLOTS
    cdef double* row
    for c in range(rule.copies):
        row = first + c * N_SLOTS
        row[SLOT_RACE_LOSS] = 0.0
        if row[SLOT_RACE_STATUS] != RACE_OUT:
            row[SLOT_RACE_STATUS] = RACE_RACING
    first[SLOT_RACE_COUNT] = 0.0
    first[SLOT_RACE_OPENED] = first[SLOT_SERVED_N]
    _race_store_shares(scalars, b, rule)
