"""Vowpal Wabbit's feature hashing for Python callers (``streamlr.hashing``),
and dict events to hashed rows (estimators with ``hash_bits``).

The functions are thin wrappers over the inline C functions of
``hashing.pxd``; arguments are checked by ``streamlr.hashing``: they take
bytes and unsigned 32-bit ints.
"""
cimport numpy as cnp
from cpython.dict cimport PyDict_Next
from cpython.object cimport PyObject
from libc.math cimport isfinite
from libc.stdint cimport uint8_t, uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

import numpy as np

from .hashing cimport murmur3_32, vw_cross2, vw_cross3, vw_hash, vw_hash_kv


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    void Py_INCREF(PyObject* o)
    void Py_DECREF(PyObject* o)
    bint PyFloat_CheckExact(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyLong_CheckExact(object o)
    bint PyUnicode_Check(object o)
    bint PyFloat_Check(object o)
    bint PyLong_Check(object o)
    bint PyDict_Check(object o)
    double PyFloat_AS_DOUBLE(object o)
    double PyLong_AsDouble(object o) except? -1.0

# The UTF-8 bytes of a str: a compact ASCII str's own characters, read in
# place (no call); any other str through PyUnicode_AsUTF8AndSize. And a read
# prefetch hint (a hint only: it never changes a value).
cdef extern from *:
    """
    static inline const char* streamlr_ascii(PyObject* s, Py_ssize_t* n) {
    #if defined(PyUnicode_IS_COMPACT_ASCII) || PY_VERSION_HEX >= 0x030C0000
        if (PyUnicode_IS_COMPACT_ASCII(s)) {
            *n = PyUnicode_GET_LENGTH(s);
            return (const char*)PyUnicode_DATA(s);
        }
    #endif
        return NULL;
    }
    #if defined(__GNUC__) || defined(__clang__)
    #define streamlr_hint(p) __builtin_prefetch((const void*)(p), 0, 3)
    #else
    #define streamlr_hint(p) ((void)(p))
    #endif
    """
    const char* streamlr_ascii(object s, Py_ssize_t* n) noexcept
    void streamlr_hint(const void* p) noexcept nogil

cnp.import_array()


cdef inline const char* _utf8(object s, Py_ssize_t* n) except NULL:
    """The UTF-8 bytes of str ``s`` and their number."""
    cdef const char* p = streamlr_ascii(s, n)
    if p != NULL:
        return p
    return PyUnicode_AsUTF8AndSize(s, n)


cdef inline void _put(EventHasher self, uint32_t index, double value) noexcept:
    """Append column ``index`` (masked) with ``value`` (room reserved by
    the caller), and ask for its weights' cache lines (``pf_*``)."""
    cdef int q
    cdef Py_ssize_t j = index & self.mask
    for q in range(self.n_pf):
        streamlr_hint(self.pf_base[q] + j * self.pf_stride[q])
        streamlr_hint(self.pf_base[q] + j * self.pf_stride[q] + self.pf_last[q])
    self.idx[self.n] = <int>j
    self.val[self.n] = value
    self.ns[self.n] = self.cur_ns
    self.n += 1


# the errors of a feature, out of the hashing's way
cdef int _bad_name(object key) except -1:
    raise TypeError(f"feature names must be str; got {type(key).__name__} {key!r}")


cdef int _not_finite(object key, object value) except -1:
    raise ValueError(f"feature {key!r} is not finite: {value!r}")


cdef double _other_value(object key, object value) except? -1.0:
    """A value neither str, float nor int, as a float (a dict, or what
    float() refuses: TypeError)."""
    if PyDict_Check(value):
        raise TypeError(f"feature {key!r} is a dict: namespaces nest one level "
                        "({'namespace': {'feature': value}})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"feature {key!r} must be a number or a string; got "
                        f"{type(value).__name__} {value!r}") from None


# a dict's items are read BATCH at a time: their objects' memory is asked for
# (prefetched) for the whole batch first, then each item is hashed; an event
# built long before it is learned is mostly out of the caches, and its ~2
# cache lines per feature then arrive in parallel instead of one by one
cdef enum:
    BATCH = 32


def murmur3(bytes data, uint32_t seed):
    """MurmurHash3_x86_32 of ``data`` under ``seed``, unsigned."""
    return murmur3_32(<const uint8_t*><const char*>data, len(data), seed)


def vw_hash_bytes(bytes name, uint32_t seed):
    """VW's hash of ``name`` (trimmed; digits are their value) under ``seed``."""
    return vw_hash(<const uint8_t*><const char*>name, len(name), seed)


def vw_hash_pair(bytes key, bytes value, uint32_t seed):
    """VW's hash of ``key + b"=" + value`` under ``seed`` (a string feature's
    name), computed without joining them."""
    return vw_hash_kv(<const uint8_t*><const char*>key, len(key),
                      <const uint8_t*><const char*>value, len(value), seed)


def vw_index(bytes name, bytes namespace, uint32_t mask):
    """The masked index of feature ``name`` of ``namespace``."""
    cdef uint32_t h = vw_hash(<const uint8_t*><const char*>namespace, len(namespace), 0)
    return vw_hash(<const uint8_t*><const char*>name, len(name), h) & mask


def cross(uint32_t a, uint32_t b, uint32_t mask):
    """Index of the crossed feature of indices ``a`` and ``b`` (VW's -q)."""
    return vw_cross2(a, b) & mask


def cross3(uint32_t a, uint32_t b, uint32_t c, uint32_t mask):
    """Index of the crossed feature of ``a``, ``b`` and ``c`` (VW's --cubic)."""
    return vw_cross3(a, b, c) & mask


# -- dict events ------------------------------------------------------------------------
# A flat dict is the default namespace (hash 0); a key whose value is a dict
# is a namespace of its own (its features hashed under the namespace's hash).
# A number v under key k is feature k with value v (zero: dropped); a string
# s is feature "k=s" with value 1.


cdef inline uint8_t _namespace_byte(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """The letter interactions match a namespace by: the first byte of its
    name once trimmed as VW trims it (a space for an empty name)."""
    while n > 0 and s[0] <= 0x20:
        s += 1
        n -= 1
    while n > 0 and s[n - 1] <= 0x20:
        n -= 1
    return s[0] if n > 0 else 32


cdef class EventHasher:
    """Dict events to hashed CSR rows (``streamlr`` estimators with
    ``hash_bits``), in compiled code.

    Parameters
    ----------
    bits : int
        The rows have ``2 ** bits`` columns.
    interactions : sequence of bytes, default=()
        VW's crosses (``-q``/``--cubic``) of namespaces by their first byte,
        in VW's order (``streamlr._io_readers.vw_interactions``): each
        event's crossed features follow its own.
    """

    # (its attributes and C methods are declared in _hashing.pxd: the engine
    # hashes a learning event straight into idx/val)

    def __cinit__(self, int bits, interactions=()):
        self.bits = bits
        self.mask = <uint32_t>((1 << bits) - 1) if bits < 32 else <uint32_t>0xFFFFFFFFU
        self.cap = 64
        self.idx = <int*>malloc(self.cap * sizeof(int))
        self.val = <double*>malloc(self.cap * sizeof(double))
        self.ns = <uint8_t*>malloc(self.cap)
        self.cur_ns = 32
        self.n_inter = len(interactions)
        self.inter = <uint8_t*>malloc(3 * self.n_inter + 1)
        self.inter_len = <int*>malloc((self.n_inter + 1) * sizeof(int))
        if (self.idx == NULL or self.val == NULL or self.ns == NULL
                or self.inter == NULL or self.inter_len == NULL):
            raise MemoryError()
        cdef int t, j
        cdef bytes inter
        for t in range(self.n_inter):
            inter = interactions[t]
            if len(inter) not in (2, 3):
                raise ValueError(f"an interaction crosses 2 or 3 namespaces, got {inter!r}")
            self.inter_len[t] = len(inter)
            for j in range(3):
                self.inter[3 * t + j] = inter[j] if j < len(inter) else 0

    def __dealloc__(self):
        free(self.idx)
        free(self.val)
        free(self.ns)
        free(self.inter)
        free(self.inter_len)

    cdef int _reserve(self, Py_ssize_t n) except -1:
        """Room for n features in idx/val/ns."""
        cdef void* p
        cdef Py_ssize_t cap = self.cap
        if n <= cap:
            return 0
        while cap < n:
            cap *= 2
        p = realloc(self.idx, cap * sizeof(int))
        if p == NULL:
            raise MemoryError()
        self.idx = <int*>p
        p = realloc(self.val, cap * sizeof(double))
        if p == NULL:
            raise MemoryError()
        self.val = <double*>p
        p = realloc(self.ns, cap)
        if p == NULL:
            raise MemoryError()
        self.ns = <uint8_t*>p
        self.cap = cap
        return 0

    cdef int _feature(self, object key, object value, uint32_t seed) except -1:
        """Append feature ``key`` of ``value`` (room reserved by the caller)."""
        cdef Py_ssize_t nk, nv
        cdef const char* k
        cdef const char* v
        cdef double x
        if not PyUnicode_Check(key):
            return _bad_name(key)
        k = _utf8(key, &nk)
        # (str and float exclude each other, so the order of the tests does
        # not change which branch a value takes)
        if PyUnicode_Check(value):     # feature "key=value", value 1
            v = _utf8(value, &nv)
            _put(self, vw_hash_kv(<const uint8_t*>k, nk, <const uint8_t*>v, nv, seed), 1.0)
            return 0
        if PyFloat_Check(value):
            x = PyFloat_AS_DOUBLE(value)
        elif PyLong_Check(value):
            x = PyLong_AsDouble(value)
        else:
            x = _other_value(key, value)
        if not isfinite(x):
            return _not_finite(key, value)
        if x != 0:
            _put(self, vw_hash(<const uint8_t*>k, nk, seed), x)
        return 0

    cdef int _items(self, dict d, uint32_t seed, bint top) except -1:
        """The features of dict ``d`` (``top``: the event itself, whose
        dict values are namespaces), in its order, BATCH items at a time.
        The batch's objects are borrowed from ``d``: from the first value
        that may run Python code (not an exact str, float or int: its
        ``__float__``, a namespace's values) to the end of the batch, they
        are held, so that code cannot free them."""
        cdef PyObject* ks[BATCH]
        cdef PyObject* vs[BATCH]
        cdef PyObject* pk
        cdef PyObject* pv
        cdef Py_ssize_t pos = 0, m, i, j, held
        cdef bint more = True
        while more:
            m = 0
            while m < BATCH:
                if not PyDict_Next(d, &pos, &pk, &pv):
                    more = False
                    break
                ks[m], vs[m] = pk, pv
                streamlr_hint(<char*>pk + 63)      # a str's characters (its head: read
                streamlr_hint(pv)                  # by PyDict_Next for its hash)
                streamlr_hint(<char*>pv + 63)
                m += 1
            held = m
            self._reserve(self.n + m)
            try:
                for i in range(m):
                    pv = vs[i]
                    if held == m and not (PyUnicode_CheckExact(<object>pv)
                                          or PyFloat_CheckExact(<object>pv)
                                          or PyLong_CheckExact(<object>pv)):
                        for j in range(i, m):
                            Py_INCREF(ks[j])
                            Py_INCREF(vs[j])
                        held = i
                    if top and PyDict_Check(<object>pv):
                        self._namespace(<object>ks[i], <dict>pv)
                        self._reserve(self.n + m - i)
                    else:
                        self._feature(<object>ks[i], <object>pv, seed)
            finally:
                for j in range(held, m):
                    Py_DECREF(ks[j])
                    Py_DECREF(vs[j])
        return 0

    cdef int _namespace(self, object name, dict features) except -1:
        """The features of namespace ``name``, hashed under its hash."""
        cdef Py_ssize_t nk
        cdef const char* k
        if not PyUnicode_Check(name):
            raise TypeError(f"namespace names must be str; got "
                            f"{type(name).__name__} {name!r}")
        k = _utf8(name, &nk)
        self.cur_ns = _namespace_byte(<const uint8_t*>k, nk)
        try:
            self._items(features, vw_hash(<const uint8_t*>k, nk, 0), False)
        finally:
            self.cur_ns = 32
        return 0

    cdef int _event(self, dict event) except -1:
        cdef Py_ssize_t start = self.n
        self.cur_ns = 32
        self._items(event, 0, True)
        if self.n_inter and not self.cross_later:
            self._cross(start)
        return 0

    cdef int _cross(self, Py_ssize_t start) except -1:
        """Append the crosses of the event's features [start, n): for each
        interaction in turn, VW's nested loops over the features of its
        namespaces in the event's order (a namespace crossed with itself
        from the same feature on); index VW's crossed hash, value the
        product (zero products dropped)."""
        cdef Py_ssize_t count[256]
        cdef Py_ssize_t end = self.n, bound = 0, i, j, k, n
        cdef int t
        cdef uint8_t a, b, c
        cdef double va, vab, v
        cdef uint32_t ha, hab
        for i in range(256):
            count[i] = 0
        for i in range(start, end):
            count[self.ns[i]] += 1
        for t in range(self.n_inter):
            a, b, c = self.inter[3 * t], self.inter[3 * t + 1], self.inter[3 * t + 2]
            n = count[a] * count[b]
            if self.inter_len[t] == 3:
                n *= count[c]
            bound += n
        self._reserve(end + bound)
        n = end
        with nogil:
            for t in range(self.n_inter):
                a, b, c = self.inter[3 * t], self.inter[3 * t + 1], self.inter[3 * t + 2]
                if count[a] == 0 or count[b] == 0 or (self.inter_len[t] == 3 and count[c] == 0):
                    continue
                for i in range(start, end):
                    if self.ns[i] != a:
                        continue
                    ha, va = <uint32_t>self.idx[i], self.val[i]
                    for j in range(i if a == b else start, end):
                        if self.ns[j] != b:
                            continue
                        vab = va * self.val[j]
                        if self.inter_len[t] == 2:
                            if vab != 0:
                                self.idx[n] = <int>(vw_cross2(ha, <uint32_t>self.idx[j]) & self.mask)
                                self.val[n] = vab
                                self.ns[n] = 0
                                n += 1
                            continue
                        hab = vw_cross2(ha, <uint32_t>self.idx[j])
                        for k in range(j if b == c else start, end):
                            if self.ns[k] != c:
                                continue
                            v = vab * self.val[k]
                            if v != 0:
                                self.idx[n] = <int>(vw_cross2(hab, <uint32_t>self.idx[k]) & self.mask)
                                self.val[n] = v
                                self.ns[n] = 0
                                n += 1
        self.n = n
        return 0

    cdef object _arrays(self, Py_ssize_t lo, Py_ssize_t hi):
        cdef cnp.ndarray data = np.empty(hi - lo, dtype=np.float64)
        cdef cnp.ndarray ind = np.empty(hi - lo, dtype=np.intc)
        if hi > lo:
            memcpy(cnp.PyArray_DATA(data), self.val + lo, (hi - lo) * sizeof(double))
            memcpy(cnp.PyArray_DATA(ind), self.idx + lo, (hi - lo) * sizeof(int))
        return data, ind

    def hash_one(self, dict event):
        """(values, column indices) of one dict event."""
        self.n = 0
        self.n_pf = 0
        self._event(event)
        return self._arrays(0, self.n)

    def hash_rows(self, events, bint cross_later=False):
        """(values, column indices, row pointer) of a sequence of dict events;
        ``cross_later``: the rows without their crosses, and a fourth array,
        the namespace byte of each value (for the learning loop to cross each
        row as it uses it, ``streamlr/_kernels/cross.pxi``)."""
        cdef Py_ssize_t n_rows = len(events)
        cdef cnp.ndarray indptr = np.empty(n_rows + 1, dtype=np.intc)
        cdef int* ptr = <int*>cnp.PyArray_DATA(indptr)
        self.n = 0
        self.n_pf = 0
        ptr[0] = 0
        self.cross_later = cross_later
        try:
            self._hash_rows(events, n_rows, ptr)
        finally:
            self.cross_later = False
        data, ind = self._arrays(0, self.n)
        if cross_later:
            ns = np.empty(self.n, dtype=np.uint8)
            if self.n:
                memcpy(cnp.PyArray_DATA(ns), self.ns, self.n)
            return data, ind, indptr, ns
        return data, ind, indptr

    cdef int _hash_rows(self, events, Py_ssize_t n_rows, int* ptr) except -1:
        cdef Py_ssize_t r
        for r in range(n_rows):
            event = events[r]
            if type(event) is not dict:
                if not isinstance(event, dict):
                    raise TypeError(f"event {r} is a {type(event).__name__}, not a dict")
                event = dict(event)
            self._event(event)
            if self.n > 2147483647:
                raise ValueError("more than 2**31 - 1 values in one call")
            ptr[r + 1] = <int>self.n
        return 0
