"""Compiled parsers of the data readers (``streamlr.io``): Vowpal Wabbit text,
libsvm/svmlight and CSV, over byte buffers, without the GIL.

A ``Parser`` turns the complete lines of a buffer into rows of the current
chunk: CSR arrays (int32 indptr and indices, float64 values), the labels,
the sample weights, the line numbers and the label texts. ``parse`` stops
when the chunk is full, when the buffer holds no complete line (the caller
reads more and calls again with the rest), at the end of the data, or at a
bad line (unless bad lines are skipped: then they are counted and the first
is remembered). ``take`` hands the chunk's arrays over to NumPy without a
copy (they were malloc'd here; a capsule frees them) and starts the next.

Vowpal Wabbit lines are read as VW 9's own text parser reads them (its
grammar, its single-precision number parsing, its hashing; see
``streamlr/io.py``); where VW would print a warning and go on (a malformed
feature, a NaN value), this parser reports a bad line instead.
"""

cimport cython
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_New
from libc.math cimport INFINITY, NAN, isfinite, isnan
from libc.stdint cimport int8_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc, realloc, strtod, strtof
from libc.string cimport memchr, memcpy

from .hashing cimport murmur3_32, vw_cross2, vw_hash

cnp.import_array()

# -- what parse() returns, and why a line is bad -------------------------------------------

NEED_DATA, CHUNK_FULL, BAD_LINE, DONE, NO_MEMORY = 0, 1, 2, 3, 4

cdef enum Status:
    ST_NEED = 0
    ST_FULL = 1
    ST_BAD = 2
    ST_DONE = 3
    ST_MEMORY = 4

cdef enum Bad:
    OK = 0
    SKIP = 1            # a blank line: no row
    NOMEM = -1
    B_LABEL = 2         # label token not a number
    B_WEIGHT = 3        # importance weight token not a number
    B_NEG_WEIGHT = 4
    B_INITIAL = 5       # a third label token
    B_TOKENS = 6        # more than three label tokens
    B_VALUE = 7         # a feature value NaN or infinite
    B_SCALE = 8         # a namespace scale not a finite number
    B_NS_NAME = 9       # '|:' without a name
    B_MALFORMED = 10    # VW: something else where '|', a space or the end was due
    B_NOT_LABEL = 11    # libsvm: the first token is index:value
    B_PAIR = 12         # libsvm: a token not index:value
    B_INDEX = 13        # libsvm: an index not a non-negative integer
    B_RANGE = 14        # libsvm: an index outside [0, width)
    B_FIELDS = 15       # CSV: a record with another number of fields than the header
    B_EMPTY_LABEL = 16  # CSV: an empty target cell
    B_INF = 17          # CSV: an infinite feature value
    B_QUOTE = 18        # CSV: a quoted field open at the end of the data
    B_ROW = 19          # a row with more than 2**31 - 1 values in a chunk

# the reasons by code, for streamlr.io to format ({tok}: the offending text,
# {num}: a number, {col}: a CSV column's name)
REASONS = {
    B_LABEL: "label {tok!r} is not a number",
    B_WEIGHT: "the importance weight {tok!r} is not a number",
    B_NEG_WEIGHT: "negative importance weight {tok}",
    B_INITIAL: "a third label token ({tok!r}, Vowpal Wabbit's initial prediction) is not "
               "supported",
    B_TOKENS: "{num} tokens before '|': expected 'label [importance] ['tag]'",
    B_VALUE: "the value of feature {tok!r} is not a finite number",
    B_SCALE: "the scale of namespace {tok!r} is not a finite number",
    B_NS_NAME: "'|:' : a namespace needs a name before its ':scale'",
    B_MALFORMED: "malformed features at {tok!r}: '|', a space or the end of the line "
                 "expected",
    B_NOT_LABEL: "the line starts with {tok!r}, not a label",
    B_PAIR: "{tok!r} is not index:value",
    B_INDEX: "feature index {tok!r} is not a non-negative integer",
    B_RANGE: "feature index {tok} is outside the feature space [0, {width}); raise "
             "--n-features",
    B_FIELDS: "{num} fields, the header has {n_cols}",
    B_EMPTY_LABEL: "empty label in column {col!r}",
    B_INF: "infinite value {tok!r} in column {col!r}",
    B_QUOTE: "a quoted field is not closed at the end of the data",
    B_ROW: "the row has too many values",
}

cdef enum Format:
    F_VW = 0
    F_LIBSVM = 1
    F_CSV = 2

# what a CSV column is
cdef enum Role:
    R_FEATURE = 0
    R_CATEGORICAL = 1
    R_TARGET = 2
    R_WEIGHT = 3
    R_IGNORE = 4

VW, LIBSVM, CSV = F_VW, F_LIBSVM, F_CSV
FEATURE, CATEGORICAL, TARGET, WEIGHT, IGNORE = (R_FEATURE, R_CATEGORICAL, R_TARGET, R_WEIGHT,
                                                R_IGNORE)

cdef enum:
    MAX_INTERACTIONS = 64
    TOK_MAX = 80
    MAX_NNZ = 2147483647
    # a chunk also ends once it holds this many values (about 100 MB of
    # arrays): wide rows (VW's crosses) would otherwise make chunks of
    # gigabytes; a row is never split
    FULL_NNZ = 1 << 23

# -- Vowpal Wabbit's number parsing -----------------------------------------------------
# VW reads numbers with its own single-precision routine: digits accumulated
# in float, scaled by a table of float powers of ten indexed by an int8
# exponent; when the number is not followed by a space, a tab, a newline or
# the end of the text it falls back on strtof. The same steps here give the
# same floats.

cdef float POW10_POS[39]
cdef float POW10_NEG[38]


cdef void _fill_pow10():
    cdef int k
    POW10_POS[0] = 1.0
    for k in range(1, 39):
        POW10_POS[k] = POW10_POS[k - 1] * <float>10.0
    POW10_NEG[0] = 1.0
    for k in range(1, 38):
        POW10_NEG[k] = POW10_NEG[k - 1] / <float>10.0


_fill_pow10()


cdef inline float _pow10(int8_t e) noexcept nogil:
    if e > 38:
        return INFINITY
    if e < -37:
        return 0.0
    if e >= 0:
        return POW10_POS[e]
    return POW10_NEG[-e]


cdef inline bint _digit(uint8_t c) noexcept nogil:
    return 48 <= c <= 57


cdef float vw_float(const uint8_t* p, const uint8_t* end, Py_ssize_t* used) noexcept nogil:
    """VW's parseFloat of the text [p, end); ``used`` gets the bytes read
    (0: no number). The byte at ``end`` must be readable (a newline or NUL)."""
    cdef const uint8_t* start = p
    cdef int sign = 1, num_dec = 0, exp_acc = 0, exp_sign
    cdef float acc = 0, ten = 10
    cdef char* stop
    used[0] = 0
    if p >= end:
        return 0
    while p < end and p[0] == 32:
        p += 1
    if p < end and p[0] == 45:      # '-'
        sign = -1
        p += 1
    while p < end and _digit(p[0]):
        # single precision at every step; VW adds the character, then subtracts '0'
        acc = acc * ten
        acc = acc + <float>p[0]
        acc = acc - <float>48
        p += 1
    if p < end and p[0] == 46:      # '.'
        p += 1
        while p < end and _digit(p[0]):
            if num_dec < 35:
                acc = acc * ten
                acc = acc + <float>(p[0] - 48)
                num_dec += 1
            p += 1
    if p < end and (p[0] == 101 or p[0] == 69):    # 'e', 'E'
        p += 1
        exp_sign = 1
        if p < end and p[0] == 45:
            exp_sign = -1
            p += 1
        while p < end and _digit(p[0]):
            if exp_acc < 100000000:
                exp_acc = exp_acc * 10 + (p[0] - 48)
            p += 1
        exp_acc *= exp_sign
    if p == end or p[0] == 32 or p[0] == 10 or p[0] == 9:
        acc *= _pow10(<int8_t>(exp_acc - num_dec))
        used[0] = p - start
        return sign * acc
    acc = strtof(<const char*>start, &stop)
    if <const uint8_t*>stop > start:
        used[0] = <const uint8_t*>stop - start
    return acc


# the bytes where VW's names end: ' ', ':', '\t', '|', '\r'
cdef uint8_t VW_STOP[256]


cdef void _fill_stop():
    cdef int c
    for c in range(256):
        VW_STOP[c] = c == 32 or c == 58 or c == 9 or c == 124 or c == 13


_fill_stop()


cdef inline bint _vw_stop(uint8_t c) noexcept nogil:
    return VW_STOP[c]


cdef inline bint _ascii_space(uint8_t c) noexcept nogil:
    # what str.strip() removes among ASCII bytes
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


cdef inline Py_ssize_t _space_front(const uint8_t* p, Py_ssize_t m) noexcept nogil:
    """Length of the whitespace character (as str.isspace says) at p, or 0."""
    if m >= 1 and _ascii_space(p[0]):
        return 1
    if m >= 2 and p[0] == 0xC2 and (p[1] == 0x85 or p[1] == 0xA0):
        return 2
    if m >= 3:
        if p[0] == 0xE1 and p[1] == 0x9A and p[2] == 0x80:
            return 3
        if p[0] == 0xE2 and p[1] == 0x80 and (p[2] <= 0x8A or p[2] == 0xA8 or p[2] == 0xA9
                                              or p[2] == 0xAF):
            return 3
        if p[0] == 0xE2 and p[1] == 0x81 and p[2] == 0x9F:
            return 3
        if p[0] == 0xE3 and p[1] == 0x80 and p[2] == 0x80:
            return 3
    return 0


cdef inline Py_ssize_t _space_back(const uint8_t* p, Py_ssize_t m) noexcept nogil:
    """Length of the whitespace character ending at p[m - 1], or 0."""
    if m >= 1 and _ascii_space(p[m - 1]):
        return 1
    if m >= 2 and _space_front(p + m - 2, 2) == 2:
        return 2
    if m >= 3 and _space_front(p + m - 3, 3) == 3:
        return 3
    return 0


cdef inline bint _blank(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not (s[i] == 32 or s[i] == 9 or s[i] == 13):
            return False
    return True


cdef double _strtod_whole(const uint8_t* s, Py_ssize_t n, char* scratch, bint* ok) noexcept nogil:
    """strtod of exactly the bytes [s, s + n) (copied and NUL-terminated into
    ``scratch``, of at least n + 1 bytes); ``ok`` is False unless all of them
    form a decimal number (hexadecimal is refused, as Python's float does)."""
    cdef char* stop
    cdef double x
    cdef Py_ssize_t i
    ok[0] = False
    if n == 0:
        return 0
    for i in range(n):
        if s[i] == 120 or s[i] == 88 or s[i] == 0:    # 'x', 'X', NUL
            return 0
    memcpy(scratch, s, n)
    scratch[n] = 0
    x = strtod(scratch, &stop)
    ok[0] = stop == scratch + n
    return x


cdef void _free_capsule(object capsule) noexcept:
    free(PyCapsule_GetPointer(capsule, NULL))


cdef object _hand_over(void* ptr, Py_ssize_t n, int typenum, Py_ssize_t itemsize):
    """A NumPy array of the first n items of a malloc'd buffer, which it then
    owns (shrunk to n items first)."""
    cdef cnp.npy_intp dims = n
    cdef void* shrunk = realloc(ptr, n * itemsize if n > 0 else 1)
    if shrunk != NULL:
        ptr = shrunk
    arr = cnp.PyArray_SimpleNewFromData(1, &dims, typenum, ptr)
    cnp.set_array_base(arr, PyCapsule_New(ptr, NULL, _free_capsule))
    return arr


@cython.final
cdef class Parser:
    """Lines of one format to rows of chunks (see the module's description).

    Parameters
    ----------
    fmt : int
        ``VW``, ``LIBSVM`` or ``CSV``.
    width : int
        Number of columns (``2 ** hash_bits`` for hashed formats).
    chunk_rows : int
        Rows per chunk, at most.
    skip_bad_lines : bool
        Count and skip bad lines instead of stopping at them.
    interactions : list of bytes
        VW: namespace crosses, each of 2 or 3 namespace bytes, already in
        VW's order (see ``streamlr.io``).
    cross_later : bool
        VW with interactions: leave the rows un-crossed and keep the
        namespace byte of each value instead (``take`` then also gives
        them), for the learning loop to cross each row as it uses it.
    """

    cdef readonly int fmt
    cdef readonly Py_ssize_t width
    cdef public Py_ssize_t chunk_rows     # may change between chunks
    cdef uint32_t mask
    cdef bint skip_bad
    cdef int n_inter
    cdef bint cross_later
    cdef uint8_t* chunk_ns      # cross_later: the namespace byte of each value of the chunk
    cdef uint8_t inter_ns[MAX_INTERACTIONS][3]
    cdef int inter_len[MAX_INTERACTIONS]
    # CSV columns
    cdef int n_cols
    cdef int* col_role
    cdef uint32_t* col_hash
    cdef uint8_t* col_prefix
    cdef Py_ssize_t* col_prefix_off
    cdef uint8_t delim
    # the chunk being filled
    cdef int* indptr
    cdef int* indices
    cdef double* data
    cdef double* y
    cdef double* w
    cdef int64_t* lines
    cdef int64_t* loff
    cdef uint8_t* ltext
    cdef uint8_t* text_label    # CSV: 1 where the label is not a number
    cdef readonly Py_ssize_t rows, nnz
    cdef Py_ssize_t cap_rows, cap_nnz, ntext, cap_text
    # scratch
    cdef uint8_t* ns_of
    cdef Py_ssize_t cap_ns
    cdef char* scratch
    cdef Py_ssize_t cap_scratch
    cdef Py_ssize_t* fstart
    cdef Py_ssize_t* flen
    cdef uint8_t* fquoted
    cdef Py_ssize_t cap_fields
    # counts and the bad lines
    cdef readonly int64_t line, bad_lines
    cdef int err_code, first_code
    cdef int64_t err_line, err_num, first_line, first_num
    cdef int err_col, first_col
    cdef uint8_t err_tok[TOK_MAX]
    cdef uint8_t first_tok[TOK_MAX]
    cdef Py_ssize_t err_toklen, first_toklen

    def __cinit__(self, int fmt, Py_ssize_t width, Py_ssize_t chunk_rows, bint skip_bad_lines,
                  interactions=(), int delimiter=44, bint cross_later=False):
        cdef int k, j
        self.fmt, self.width, self.chunk_rows = fmt, width, chunk_rows
        self.mask = <uint32_t>(width - 1)
        self.skip_bad = skip_bad_lines
        self.delim = <uint8_t>delimiter
        if len(interactions) > MAX_INTERACTIONS:
            raise ValueError(f"at most {MAX_INTERACTIONS} interactions")
        self.n_inter = len(interactions)
        self.cross_later = cross_later and self.n_inter > 0
        for k, inter in enumerate(interactions):
            self.inter_len[k] = len(inter)
            for j in range(len(inter)):
                self.inter_ns[k][j] = inter[j]
        self.first_line = -1
        if self._start_chunk(chunk_rows if chunk_rows < 4096 else 4096, 1 << 16) < 0:
            raise MemoryError()
        self.cap_scratch = 256
        self.scratch = <char*>malloc(self.cap_scratch)
        self.cap_ns = 256
        self.ns_of = <uint8_t*>malloc(self.cap_ns)
        self.cap_fields = 64
        self.fstart = <Py_ssize_t*>malloc(self.cap_fields * sizeof(Py_ssize_t))
        self.flen = <Py_ssize_t*>malloc(self.cap_fields * sizeof(Py_ssize_t))
        self.fquoted = <uint8_t*>malloc(self.cap_fields)
        if (self.scratch == NULL or self.ns_of == NULL or self.fstart == NULL
                or self.flen == NULL or self.fquoted == NULL or self.indptr == NULL):
            raise MemoryError()

    def __dealloc__(self):
        self._free_chunk()
        free(self.scratch)
        free(self.ns_of)
        free(self.fstart)
        free(self.flen)
        free(self.fquoted)
        free(self.col_role)
        free(self.col_hash)
        free(self.col_prefix)
        free(self.col_prefix_off)

    cdef void _free_chunk(self) noexcept:
        free(self.indptr)
        free(self.indices)
        free(self.data)
        free(self.y)
        free(self.w)
        free(self.lines)
        free(self.loff)
        free(self.ltext)
        free(self.text_label)
        free(self.chunk_ns)
        self.chunk_ns = NULL
        self.indptr = NULL
        self.indices = NULL
        self.data = NULL
        self.y = NULL
        self.w = NULL
        self.lines = NULL
        self.loff = NULL
        self.ltext = NULL
        self.text_label = NULL

    cdef int _start_chunk(self, Py_ssize_t cap_rows, Py_ssize_t cap_nnz) noexcept:
        self.cap_rows, self.cap_nnz, self.cap_text = cap_rows, cap_nnz, 4 * cap_rows + 64
        self.rows = self.nnz = self.ntext = 0
        self.indptr = <int*>malloc((cap_rows + 1) * sizeof(int))
        self.indices = <int*>malloc(cap_nnz * sizeof(int))
        self.data = <double*>malloc(cap_nnz * sizeof(double))
        self.y = <double*>malloc(cap_rows * sizeof(double))
        self.w = <double*>malloc(cap_rows * sizeof(double))
        self.lines = <int64_t*>malloc(cap_rows * sizeof(int64_t))
        self.loff = <int64_t*>malloc((cap_rows + 1) * sizeof(int64_t))
        self.ltext = <uint8_t*>malloc(self.cap_text)
        self.text_label = <uint8_t*>malloc(cap_rows)
        if self.cross_later:
            self.chunk_ns = <uint8_t*>malloc(cap_nnz)
            if self.chunk_ns == NULL:
                self._free_chunk()
                return -1
        if (self.indptr == NULL or self.indices == NULL or self.data == NULL or self.y == NULL
                or self.w == NULL or self.lines == NULL or self.loff == NULL
                or self.ltext == NULL or self.text_label == NULL):
            self._free_chunk()
            return -1
        self.indptr[0] = 0
        self.loff[0] = 0
        return 0

    # -- growth (malloc'd buffers: no GIL needed) ------------------------------------

    cdef int _grow_rows(self) noexcept nogil:
        cdef Py_ssize_t cap = 2 * self.cap_rows
        if cap > self.chunk_rows:
            cap = self.chunk_rows
        cdef void* p
        p = realloc(self.indptr, (cap + 1) * sizeof(int))
        if p == NULL:
            return -1
        self.indptr = <int*>p
        p = realloc(self.y, cap * sizeof(double))
        if p == NULL:
            return -1
        self.y = <double*>p
        p = realloc(self.w, cap * sizeof(double))
        if p == NULL:
            return -1
        self.w = <double*>p
        p = realloc(self.lines, cap * sizeof(int64_t))
        if p == NULL:
            return -1
        self.lines = <int64_t*>p
        p = realloc(self.loff, (cap + 1) * sizeof(int64_t))
        if p == NULL:
            return -1
        self.loff = <int64_t*>p
        p = realloc(self.text_label, cap)
        if p == NULL:
            return -1
        self.text_label = <uint8_t*>p
        self.cap_rows = cap
        return 0

    cdef int _grow_nnz(self, Py_ssize_t need) noexcept nogil:
        cdef Py_ssize_t cap = self.cap_nnz
        cdef void* p
        while cap < need:
            cap *= 2
        p = realloc(self.indices, cap * sizeof(int))
        if p == NULL:
            return -1
        self.indices = <int*>p
        p = realloc(self.data, cap * sizeof(double))
        if p == NULL:
            return -1
        self.data = <double*>p
        if self.cross_later:
            p = realloc(self.chunk_ns, cap)
            if p == NULL:
                return -1
            self.chunk_ns = <uint8_t*>p
        self.cap_nnz = cap
        return 0

    cdef int _grow_ns(self, Py_ssize_t need) noexcept nogil:
        cdef Py_ssize_t cap = self.cap_ns
        while cap < need:
            cap *= 2
        cdef void* p = realloc(self.ns_of, cap)
        if p == NULL:
            return -1
        self.ns_of = <uint8_t*>p
        self.cap_ns = cap
        return 0

    cdef int _grow_scratch(self, Py_ssize_t need) noexcept nogil:
        cdef Py_ssize_t cap = self.cap_scratch
        while cap < need:
            cap *= 2
        cdef void* p = realloc(self.scratch, cap)
        if p == NULL:
            return -1
        self.scratch = <char*>p
        self.cap_scratch = cap
        return 0

    cdef int _grow_fields(self) noexcept nogil:
        cdef Py_ssize_t cap = 2 * self.cap_fields
        cdef void* p = realloc(self.fstart, cap * sizeof(Py_ssize_t))
        if p == NULL:
            return -1
        self.fstart = <Py_ssize_t*>p
        p = realloc(self.flen, cap * sizeof(Py_ssize_t))
        if p == NULL:
            return -1
        self.flen = <Py_ssize_t*>p
        p = realloc(self.fquoted, cap)
        if p == NULL:
            return -1
        self.fquoted = <uint8_t*>p
        self.cap_fields = cap
        return 0

    cdef inline int _push(self, uint32_t index, double value) noexcept nogil:
        if self.nnz == self.cap_nnz:
            if self.nnz >= MAX_NNZ or self._grow_nnz(self.nnz + 1) < 0:
                return -1
        self.indices[self.nnz] = <int>index
        self.data[self.nnz] = value
        self.nnz += 1
        return 0

    cdef int _label_text(self, const uint8_t* s, Py_ssize_t n) noexcept nogil:
        cdef void* p
        cdef Py_ssize_t cap = self.cap_text
        if self.ntext + n > cap:
            while cap < self.ntext + n:
                cap *= 2
            p = realloc(self.ltext, cap)
            if p == NULL:
                return -1
            self.ltext = <uint8_t*>p
            self.cap_text = cap
        memcpy(self.ltext + self.ntext, s, n)
        self.ntext += n
        return 0

    cdef int _bad(self, int code, const uint8_t* tok, Py_ssize_t toklen, int64_t num,
                  int col) noexcept nogil:
        """Record why the current line is bad; returns the code."""
        if toklen > TOK_MAX:
            toklen = TOK_MAX
        if toklen < 0:
            toklen = 0
        self.err_code, self.err_num, self.err_col, self.err_toklen = code, num, col, toklen
        self.err_line = self.line
        if toklen:
            memcpy(self.err_tok, tok, toklen)
        return code

    # -- the row being built ---------------------------------------------------------

    cdef inline int _begin_row(self) noexcept nogil:
        if self.rows == self.cap_rows and self._grow_rows() < 0:
            return -1
        return 0

    cdef inline void _end_row(self, double label, double weight, bint text_label) noexcept nogil:
        cdef Py_ssize_t r = self.rows
        self.y[r] = label
        self.w[r] = weight
        self.lines[r] = self.line
        self.text_label[r] = text_label
        self.rows = r + 1
        self.indptr[r + 1] = <int>self.nnz
        self.loff[r + 1] = self.ntext

    cdef inline void _drop_row(self) noexcept nogil:
        self.nnz = self.indptr[self.rows]
        self.ntext = self.loff[self.rows]

    # -- Vowpal Wabbit ---------------------------------------------------------------

    cdef int _vw_line(self, const uint8_t* s, Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t bar, ls, ln, i, ntok = 0, pos, name_start, name_len, used
        cdef Py_ssize_t tok_s[4]
        cdef Py_ssize_t tok_n[4]
        cdef Py_ssize_t last_s = 0, last_n = 0, base, sv_s, sv_n, q
        cdef const uint8_t* hit
        cdef double label = NAN, weight = 1.0
        cdef float f, scale, fv, v
        cdef uint32_t ch, h
        cdef uint8_t ns
        cdef int anon, rc
        if n == 0 or _blank(s, n):
            return SKIP
        if self._begin_row() < 0:
            return NOMEM
        hit = <const uint8_t*>memchr(s, 124, n)
        bar = n if hit == NULL else hit - s
        # the label part: up to the first '|', after the first tab; tokens split on spaces
        if bar != 0:
            ls, ln = 0, bar
            hit = <const uint8_t*>memchr(s, 9, ln)
            if hit != NULL:
                ls = hit - s + 1
                ln = bar - ls
            i = ls
            while i < ls + ln:
                if s[i] == 32:
                    i += 1
                    continue
                last_s = i
                while i < ls + ln and s[i] != 32:
                    i += 1
                last_n = i - last_s
                if ntok < 4:
                    tok_s[ntok], tok_n[ntok] = last_s, last_n
                ntok += 1
            # the last token is a tag when it touches the '|' (or the end) or starts with '
            if ntok and (last_s + last_n == ls + ln or s[last_s] == 39):
                ntok -= 1
            if ntok > 3:
                return self._bad(B_TOKENS, NULL, 0, ntok, 0)
            if ntok == 3:
                return self._bad(B_INITIAL, s + tok_s[2], tok_n[2], 0, 0)
            if ntok >= 1:
                f = vw_float(s + tok_s[0], s + tok_s[0] + tok_n[0], &used)
                if used != tok_n[0] or not isfinite(f):
                    return self._bad(B_LABEL, s + tok_s[0], tok_n[0], 0, 0)
                label = f
                if self._label_text(s + tok_s[0], tok_n[0]) < 0:
                    return NOMEM
            if ntok == 2:
                f = vw_float(s + tok_s[1], s + tok_s[1] + tok_n[1], &used)
                if used != tok_n[1] or not isfinite(f):
                    return self._bad(B_WEIGHT, s + tok_s[1], tok_n[1], 0, 0)
                if f < 0:
                    return self._bad(B_NEG_WEIGHT, s + tok_s[1], tok_n[1], 0, 0)
                weight = f
        # the features: '|' namespace, then features, as VW's grammar reads them
        base = self.nnz
        pos = bar
        while pos < n and s[pos] == 124:
            pos += 1
            scale = 1.0
            anon = 0
            if pos >= n or s[pos] == 32 or s[pos] == 9 or s[pos] == 124 or s[pos] == 13:
                ns, ch = 32, 0
            elif s[pos] != 58:
                ns = s[pos]
                name_start = pos
                while pos < n and not _vw_stop(s[pos]):
                    pos += 1
                ch = vw_hash(s + name_start, pos - name_start, 0)
                if pos < n and s[pos] == 58:
                    pos += 1
                    scale = vw_float(s + pos, s + n, &used)
                    if used == 0 or not isfinite(scale):
                        return self._bad(B_SCALE, s + name_start, pos - 1 - name_start, 0, 0)
                    pos += used
            else:
                return self._bad(B_NS_NAME, NULL, 0, 0, 0)
            while pos < n and (s[pos] == 32 or s[pos] == 9):
                pos += 1
                if pos >= n or s[pos] == 32 or s[pos] == 9 or s[pos] == 124 or s[pos] == 13:
                    continue
                name_start = pos
                while pos < n and not _vw_stop(s[pos]):
                    pos += 1
                name_len = pos - name_start
                fv = 1.0
                sv_n = -1
                if pos < n and s[pos] == 58:
                    pos += 1
                    fv = vw_float(s + pos, s + n, &used)
                    if used == 0:
                        # a string value: from the next non-blank byte to a blank one
                        q = pos
                        while q < n and (s[q] == 32 or s[q] == 9 or s[q] == 13 or s[q] == 10):
                            q += 1
                        if q < n:
                            pos = q
                        sv_s = pos
                        while pos < n and not (s[pos] == 32 or s[pos] == 9 or s[pos] == 13
                                               or s[pos] == 10):
                            pos += 1
                        sv_n = pos - sv_s
                    elif isnan(fv):
                        return self._bad(B_VALUE, s + name_start, name_len, 0, 0)
                    else:
                        pos += used
                if sv_n >= 0:
                    v = 1.0
                else:
                    v = scale * fv
                    if not isfinite(v):
                        return self._bad(B_VALUE, s + name_start, name_len, 0, 0)
                if sv_n > 0:
                    h = vw_hash(s + sv_s, sv_n, vw_hash(s + name_start, name_len, ch))
                elif name_len > 0:
                    h = vw_hash(s + name_start, name_len, ch)
                else:
                    h = ch + <uint32_t>anon
                    anon += 1
                if v == 0:
                    continue
                if self.cross_later:
                    # (room: _push grows chunk_ns with the values)
                    if self.nnz == self.cap_nnz and (self.nnz >= MAX_NNZ
                                                     or self._grow_nnz(self.nnz + 1) < 0):
                        return self._bad(B_ROW, NULL, 0, 0, 0) if self.nnz >= MAX_NNZ else NOMEM
                    self.chunk_ns[self.nnz] = ns
                elif self.n_inter:
                    if self.nnz - base >= self.cap_ns and self._grow_ns(self.nnz - base + 1) < 0:
                        return NOMEM
                    self.ns_of[self.nnz - base] = ns
                if self._push(h & self.mask, v) < 0:
                    return self._bad(B_ROW, NULL, 0, 0, 0) if self.nnz >= MAX_NNZ else NOMEM
            if not (pos >= n or s[pos] == 124 or s[pos] == 13):
                return self._bad(B_MALFORMED, s + pos, n - pos, 0, 0)
        if pos < n and s[pos] != 13:
            return self._bad(B_MALFORMED, s + pos, n - pos, 0, 0)
        if self.n_inter and not self.cross_later:
            rc = self._cross(base)
            if rc != OK:
                return rc
        self._end_row(label, weight, False)
        return OK

    cdef int _cross(self, Py_ssize_t base) noexcept nogil:
        """Append the crossed features of the row's features [base, nnz)."""
        cdef Py_ssize_t nf = self.nnz - base, i, j, k, j0, k0
        cdef int t
        cdef uint8_t a, b, c
        cdef float va, vab, v
        cdef uint32_t ha, hab
        for t in range(self.n_inter):
            a, b = self.inter_ns[t][0], self.inter_ns[t][1]
            c = self.inter_ns[t][2]
            for i in range(nf):
                if self.ns_of[i] != a:
                    continue
                ha = <uint32_t>self.indices[base + i]
                va = <float>self.data[base + i]
                j0 = i if a == b else 0
                for j in range(j0, nf):
                    if self.ns_of[j] != b:
                        continue
                    vab = va * <float>self.data[base + j]
                    if self.inter_len[t] == 2:
                        if vab != 0 and self._push(
                                vw_cross2(ha, <uint32_t>self.indices[base + j]) & self.mask,
                                vab) < 0:
                            return self._bad(B_ROW, NULL, 0, 0, 0) if self.nnz >= MAX_NNZ else NOMEM
                        continue
                    hab = vw_cross2(ha, <uint32_t>self.indices[base + j])
                    k0 = j if b == c else 0
                    for k in range(k0, nf):
                        if self.ns_of[k] != c:
                            continue
                        v = vab * <float>self.data[base + k]
                        if v != 0 and self._push(
                                vw_cross2(hab, <uint32_t>self.indices[base + k]) & self.mask,
                                v) < 0:
                            return self._bad(B_ROW, NULL, 0, 0, 0) if self.nnz >= MAX_NNZ else NOMEM
        return OK

    # -- libsvm ----------------------------------------------------------------------

    cdef int _libsvm_line(self, const uint8_t* s, Py_ssize_t n) noexcept nogil:
        cdef const uint8_t* hit = <const uint8_t*>memchr(s, 35, n)   # '#'
        cdef Py_ssize_t i = 0, ts, tn, colon, k
        cdef double label = 0, x
        cdef int64_t j
        cdef bint ok, first = True
        if hit != NULL:
            n = hit - s
        if n == 0 or _blank(s, n):
            return SKIP
        if self._begin_row() < 0:
            return NOMEM
        if self.cap_scratch < n + 1 and self._grow_scratch(n + 1) < 0:
            return NOMEM
        while True:
            while i < n and (s[i] == 32 or s[i] == 9 or s[i] == 13 or s[i] == 11 or s[i] == 12):
                i += 1
            if i >= n:
                break
            ts = i
            while i < n and not (s[i] == 32 or s[i] == 9 or s[i] == 13 or s[i] == 11
                                 or s[i] == 12):
                i += 1
            tn = i - ts
            colon = -1
            for k in range(tn):
                if s[ts + k] == 58:
                    colon = k
                    break
            if first:
                first = False
                if colon >= 0:
                    return self._bad(B_NOT_LABEL, s + ts, tn, 0, 0)
                label = _strtod_whole(s + ts, tn, self.scratch, &ok)
                if not ok or not isfinite(label):
                    return self._bad(B_LABEL, s + ts, tn, 0, 0)
                if self._label_text(s + ts, tn) < 0:
                    return NOMEM
                continue
            if colon == 3 and s[ts] == 113 and s[ts + 1] == 105 and s[ts + 2] == 100:
                continue                                              # qid:...
            if colon < 0:
                return self._bad(B_PAIR, s + ts, tn, 0, 0)
            if colon == 0:
                return self._bad(B_INDEX, s + ts, colon, 0, 0)
            j = 0
            for k in range(colon):
                if not _digit(s[ts + k]):
                    return self._bad(B_INDEX, s + ts, colon, 0, 0)
                if j <= self.width:
                    j = j * 10 + (s[ts + k] - 48)
            if j >= self.width:
                return self._bad(B_RANGE, s + ts, colon, j, 0)
            x = _strtod_whole(s + ts + colon + 1, tn - colon - 1, self.scratch, &ok)
            if not ok or not isfinite(x):
                return self._bad(B_VALUE, s + ts, colon, 0, 0)
            if x != 0 and self._push(<uint32_t>j, x) < 0:
                return self._bad(B_ROW, NULL, 0, 0, 0) if self.nnz >= MAX_NNZ else NOMEM
        self._end_row(label, 1.0, False)
        return OK

    # -- CSV -------------------------------------------------------------------------

    cdef int _csv_fields(self, const uint8_t* s, Py_ssize_t end, bint eof, Py_ssize_t* next,
                         int64_t* newlines, Py_ssize_t* nfields) noexcept nogil:
        """Split the record at s into fields (unquoted into the scratch buffer
        when quoted): 0; 1 when the record is not complete; 2 when a quoted
        field is open at the end of the data; -1 out of memory."""
        cdef Py_ssize_t i = 0, nf = 0, o = 0, fs
        cdef bint quoted, unclosed = False
        cdef uint8_t c, d = self.delim
        newlines[0] = 0
        # the scratch holds the unquoted text of quoted fields: at most the record's size
        while True:
            if nf == self.cap_fields and self._grow_fields() < 0:
                return -1
            quoted = i < end and s[i] == 34
            if not quoted:
                fs = i
                while i < end and s[i] != d and s[i] != 10 and s[i] != 13:
                    i += 1
                self.fstart[nf], self.flen[nf], self.fquoted[nf] = fs, i - fs, 0
            else:
                i += 1
                fs = o
                while True:
                    if i >= end:
                        if not eof:
                            return 1
                        unclosed = True
                        break
                    c = s[i]
                    if c == 34:
                        if i + 1 < end and s[i + 1] == 34:
                            c = 34
                            i += 1
                        elif i + 1 >= end and not eof:
                            return 1      # '"' at the end: '""' or the close?
                        else:
                            i += 1
                            # after the closing quote, text up to the delimiter is kept
                            while i < end and s[i] != d and s[i] != 10 and s[i] != 13:
                                if o + 1 > self.cap_scratch and self._grow_scratch(o + 1) < 0:
                                    return -1
                                self.scratch[o] = s[i]
                                o += 1
                                i += 1
                            break
                    elif c == 10:
                        newlines[0] += 1
                    if o + 1 > self.cap_scratch and self._grow_scratch(o + 1) < 0:
                        return -1
                    self.scratch[o] = c
                    o += 1
                    i += 1
                self.fstart[nf], self.flen[nf], self.fquoted[nf] = fs, o - fs, 1
            nf += 1
            if i < end and s[i] == d:
                i += 1
                continue
            if i >= end and not eof:
                return 1
            break
        if i < end and s[i] == 13:
            i += 1
            if i >= end and not eof:
                return 1
        if i < end and s[i] == 10:
            i += 1
            newlines[0] += 1
        next[0] = i
        nfields[0] = nf
        return 2 if unclosed else 0

    cdef inline const uint8_t* _field(self, const uint8_t* s, Py_ssize_t f,
                                      Py_ssize_t* n) noexcept nogil:
        """Field f, stripped of whitespace as str.strip() strips it."""
        cdef const uint8_t* p = (<const uint8_t*>self.scratch if self.fquoted[f] else s) + self.fstart[f]
        cdef Py_ssize_t m = self.flen[f], k
        while True:
            k = _space_front(p, m)
            if k == 0:
                break
            p += k
            m -= k
        while True:
            k = _space_back(p, m)
            if k == 0:
                break
            m -= k
        n[0] = m
        return p

    cdef int _csv_record(self, const uint8_t* s, Py_ssize_t nfields) noexcept nogil:
        cdef Py_ssize_t f, m, pre, numbuf
        cdef const uint8_t* cell
        cdef double label = NAN, weight = 1.0, x
        cdef bint ok, text_label = False
        cdef int role
        if nfields == 1:
            cell = self._field(s, 0, &m)
            if m == 0:
                return SKIP
        if nfields != self.n_cols:
            return self._bad(B_FIELDS, NULL, 0, nfields, 0)
        if self._begin_row() < 0:
            return NOMEM
        # number text and "name=value" keys are built past the quoted fields' text
        numbuf = 0
        for f in range(nfields):
            if self.fquoted[f] and self.fstart[f] + self.flen[f] > numbuf:
                numbuf = self.fstart[f] + self.flen[f]
        for f in range(nfields):
            role = self.col_role[f]
            if role == R_IGNORE:
                continue
            cell = self._field(s, f, &m)
            pre = self.col_prefix_off[f + 1] - self.col_prefix_off[f]
            if numbuf + pre + m + 1 > self.cap_scratch:
                if self._grow_scratch(numbuf + pre + m + 1) < 0:
                    return NOMEM
                cell = self._field(s, f, &m)
            if role == R_TARGET:
                if m == 0:
                    return self._bad(B_EMPTY_LABEL, NULL, 0, 0, f)
                x = _strtod_whole(cell, m, self.scratch + numbuf, &ok)
                if ok and not isnan(x):
                    label = x
                else:
                    text_label = True
                if self._label_text(cell, m) < 0:
                    return NOMEM
            elif role == R_WEIGHT:
                x = _strtod_whole(cell, m, self.scratch + numbuf, &ok)
                if not ok or not isfinite(x):
                    return self._bad(B_WEIGHT, cell, m, 0, f)
                if x < 0:
                    return self._bad(B_NEG_WEIGHT, cell, m, 0, f)
                weight = x
            elif m:
                if role == R_FEATURE:
                    x = _strtod_whole(cell, m, self.scratch + numbuf, &ok)
                    if ok:
                        if isnan(x):
                            continue
                        if not isfinite(x):
                            return self._bad(B_INF, cell, m, 0, f)
                        if x != 0 and self._push(self.col_hash[f], x) < 0:
                            return NOMEM
                        continue
                memcpy(self.scratch + numbuf, self.col_prefix + self.col_prefix_off[f], pre)
                memcpy(self.scratch + numbuf + pre, cell, m)
                if self._push(murmur3_32(<const uint8_t*>self.scratch + numbuf, pre + m, 0)
                              & self.mask, 1.0) < 0:
                    return NOMEM
        self._end_row(label, weight, text_label)
        return OK

    def csv_header(self, const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t end, bint eof):
        """The first record's fields (bytes) and where the next begins, or
        None when the buffer does not hold the whole record."""
        cdef Py_ssize_t nxt, nf, f, m
        cdef int64_t nl
        cdef int rc
        cdef const uint8_t* cell
        rc = self._csv_fields(&buf[0] + pos, end - pos, eof, &nxt, &nl, &nf)
        if rc == -1:
            raise MemoryError()
        if rc == 1:
            return None
        fields = []
        for f in range(nf):
            cell = self._field(&buf[0] + pos, f, &m)
            fields.append(bytes(cell[:m]))
        self.line += nl if nl else 1
        return fields, pos + nxt

    def set_csv_columns(self, roles, hashes, prefixes):
        """The role, name hash and ``name=`` prefix of each CSV column."""
        cdef Py_ssize_t k, n = len(roles), total = sum(len(p) for p in prefixes)
        self.n_cols = <int>n
        self.col_role = <int*>malloc(max(n, 1) * sizeof(int))
        self.col_hash = <uint32_t*>malloc(max(n, 1) * sizeof(uint32_t))
        self.col_prefix = <uint8_t*>malloc(max(total, 1))
        self.col_prefix_off = <Py_ssize_t*>malloc((n + 1) * sizeof(Py_ssize_t))
        if (self.col_role == NULL or self.col_hash == NULL or self.col_prefix == NULL
                or self.col_prefix_off == NULL):
            raise MemoryError()
        self.col_prefix_off[0] = 0
        for k in range(n):
            self.col_role[k] = roles[k]
            self.col_hash[k] = hashes[k]
            p = prefixes[k]
            memcpy(self.col_prefix + self.col_prefix_off[k], <const char*>p, len(p))
            self.col_prefix_off[k + 1] = self.col_prefix_off[k] + len(p)

    # -- the driver ------------------------------------------------------------------

    cdef int _run(self, const uint8_t* b, Py_ssize_t* pos_, Py_ssize_t end, bint eof) noexcept nogil:
        cdef Py_ssize_t pos = pos_[0], stop, nxt, nf, n
        cdef const uint8_t* hit
        cdef const uint8_t* s
        cdef int64_t nl
        cdef int rc, status = ST_NEED
        while True:
            if self.rows >= self.chunk_rows or self.nnz >= FULL_NNZ:
                status = ST_FULL
                break
            if pos >= end:
                status = ST_DONE if eof else ST_NEED
                break
            if self.fmt == F_CSV:
                rc = self._csv_fields(b + pos, end - pos, eof, &nxt, &nl, &nf)
                if rc == 1:
                    status = ST_NEED
                    break
                if rc < 0:
                    status = ST_MEMORY
                    break
                self.line += 1
                if rc == 2:
                    rc = self._bad(B_QUOTE, NULL, 0, 0, 0)
                else:
                    rc = self._csv_record(b + pos, nf)
                stop = pos + nxt
                self.line += nl - (1 if nl else 0)
            else:
                hit = <const uint8_t*>memchr(b + pos, 10, end - pos)
                if hit == NULL:
                    if not eof:
                        status = ST_NEED
                        break
                    stop = end
                    n = end - pos
                else:
                    stop = hit - b + 1
                    n = hit - b - pos
                s = b + pos
                self.line += 1
                if n >= 3 and s[0] == 0xEF and s[1] == 0xBB and s[2] == 0xBF:
                    s += 3
                    n -= 3
                if n and s[n - 1] == 13:
                    n -= 1
                if self.fmt == F_VW:
                    rc = self._vw_line(s, n)
                else:
                    rc = self._libsvm_line(s, n)
            pos = stop
            if rc == OK or rc == SKIP:
                continue
            self._drop_row()
            if rc == NOMEM:
                status = ST_MEMORY
                break
            if self.skip_bad:
                self.bad_lines += 1
                if self.first_line < 0:
                    self.first_line, self.first_code = self.err_line, self.err_code
                    self.first_num, self.first_col = self.err_num, self.err_col
                    self.first_toklen = self.err_toklen
                    memcpy(self.first_tok, self.err_tok, self.err_toklen)
                continue
            status = ST_BAD
            break
        pos_[0] = pos
        return status

    def parse(self, const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t end, bint eof):
        """Parse lines of ``buf[pos:end]`` into the chunk: (next position,
        status). ``buf[end]`` must exist (a NUL byte); ``eof``: no more data
        follows (the last line may lack its newline)."""
        cdef const uint8_t* b = &buf[0]
        cdef int status
        with nogil:
            status = self._run(b, &pos, end, eof)
        return pos, status

    def error(self, bint first=False):
        """(line, code, text, number, column) of the last bad line, or of
        the first skipped one."""
        if first:
            if self.first_line < 0:
                return None
            return (self.first_line, self.first_code, bytes(self.first_tok[:self.first_toklen]),
                    self.first_num, self.first_col)
        return (self.err_line, self.err_code, bytes(self.err_tok[:self.err_toklen]),
                self.err_num, self.err_col)

    def take(self):
        """The chunk's arrays (indptr, indices, data, y, w, lines, label
        offsets, label text, text-label flags, and with ``cross_later`` the
        namespace byte of each value), handed over to NumPy; the next chunk
        starts empty."""
        cdef Py_ssize_t rows = self.rows, nnz = self.nnz
        out = (
            _hand_over(self.indptr, rows + 1, cnp.NPY_INT32, sizeof(int)),
            _hand_over(self.indices, nnz, cnp.NPY_INT32, sizeof(int)),
            _hand_over(self.data, nnz, cnp.NPY_FLOAT64, sizeof(double)),
            _hand_over(self.y, rows, cnp.NPY_FLOAT64, sizeof(double)),
            _hand_over(self.w, rows, cnp.NPY_FLOAT64, sizeof(double)),
            _hand_over(self.lines, rows, cnp.NPY_INT64, sizeof(int64_t)),
            _hand_over(self.loff, rows + 1, cnp.NPY_INT64, sizeof(int64_t)),
            _hand_over(self.ltext, self.ntext, cnp.NPY_UINT8, 1),
            _hand_over(self.text_label, rows, cnp.NPY_UINT8, 1),
        )
        if self.cross_later:
            out += (_hand_over(self.chunk_ns, nnz, cnp.NPY_UINT8, 1),)
            self.chunk_ns = NULL
        self.indptr = self.indices = NULL
        self.data = self.y = self.w = NULL
        self.lines = self.loff = NULL
        self.ltext = self.text_label = NULL
        # the next chunk starts with room for as many values per row as this one had
        # (pages of the unused room are never touched, and the buffers are shrunk
        # to their size when handed over)
        cdef Py_ssize_t cap_rows = self.chunk_rows if self.chunk_rows < 65536 else 65536
        cdef Py_ssize_t per_row = nnz // rows + 1 if rows else 16
        if self._start_chunk(cap_rows, max(per_row * cap_rows + cap_rows // 8, 1024)) < 0:
            raise MemoryError()
        return out
