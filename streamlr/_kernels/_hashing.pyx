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

from .hashing cimport murmur3_32, vw_cross2, vw_cross3, vw_hash


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    bint PyUnicode_Check(object o)
    bint PyFloat_Check(object o)
    bint PyLong_Check(object o)
    bint PyDict_Check(object o)
    double PyFloat_AS_DOUBLE(object o)
    double PyLong_AsDouble(object o) except? -1.0

cnp.import_array()


def murmur3(bytes data, uint32_t seed):
    """MurmurHash3_x86_32 of ``data`` under ``seed``, unsigned."""
    return murmur3_32(<const uint8_t*><const char*>data, len(data), seed)


def vw_hash_bytes(bytes name, uint32_t seed):
    """VW's hash of ``name`` (trimmed; digits are their value) under ``seed``."""
    return vw_hash(<const uint8_t*><const char*>name, len(name), seed)


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


cdef class EventHasher:
    """Dict events to hashed CSR rows (``streamlr`` estimators with
    ``hash_bits``), in compiled code.

    Parameters
    ----------
    bits : int
        The rows have ``2 ** bits`` columns.
    """

    # (its attributes and C methods are declared in _hashing.pxd: the engine
    # hashes a learning event straight into idx/val)

    def __cinit__(self, int bits):
        self.bits = bits
        self.mask = <uint32_t>((1 << bits) - 1) if bits < 32 else <uint32_t>0xFFFFFFFFU
        self.cap, self.cap_scratch = 64, 256
        self.idx = <int*>malloc(self.cap * sizeof(int))
        self.val = <double*>malloc(self.cap * sizeof(double))
        self.scratch = <char*>malloc(self.cap_scratch)
        if self.idx == NULL or self.val == NULL or self.scratch == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.idx)
        free(self.val)
        free(self.scratch)

    cdef int _push(self, uint32_t index, double value) except -1:
        cdef void* p
        if self.n == self.cap:
            p = realloc(self.idx, 2 * self.cap * sizeof(int))
            if p == NULL:
                raise MemoryError()
            self.idx = <int*>p
            p = realloc(self.val, 2 * self.cap * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self.val = <double*>p
            self.cap *= 2
        self.idx[self.n] = <int>(index & self.mask)
        self.val[self.n] = value
        self.n += 1
        return 0

    cdef int _feature(self, object key, object value, uint32_t seed) except -1:
        cdef Py_ssize_t nk, nv
        cdef const char* k
        cdef const char* v
        cdef double x
        cdef void* p
        if not PyUnicode_Check(key):
            raise TypeError(f"feature names must be str; got {type(key).__name__} {key!r}")
        k = PyUnicode_AsUTF8AndSize(key, &nk)
        if PyFloat_Check(value):
            x = PyFloat_AS_DOUBLE(value)
        elif PyUnicode_Check(value):
            v = PyUnicode_AsUTF8AndSize(value, &nv)
            if nk + nv + 1 > self.cap_scratch:
                p = realloc(self.scratch, 2 * (nk + nv + 1))
                if p == NULL:
                    raise MemoryError()
                self.scratch, self.cap_scratch = <char*>p, 2 * (nk + nv + 1)
            memcpy(self.scratch, k, nk)
            self.scratch[nk] = 61      # '='
            memcpy(self.scratch + nk + 1, v, nv)
            return self._push(vw_hash(<const uint8_t*>self.scratch, nk + nv + 1, seed), 1.0)
        elif PyLong_Check(value):
            x = PyLong_AsDouble(value)
        elif PyDict_Check(value):
            raise TypeError(f"feature {key!r} is a dict: namespaces nest one level "
                            "({'namespace': {'feature': value}})")
        else:
            try:
                x = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"feature {key!r} must be a number or a string; got "
                                f"{type(value).__name__} {value!r}") from None
        if not isfinite(x):
            raise ValueError(f"feature {key!r} is not finite: {value!r}")
        if x != 0:
            self._push(vw_hash(<const uint8_t*>k, nk, seed), x)
        return 0

    cdef int _event(self, dict event) except -1:
        cdef Py_ssize_t pos = 0, pos2, nk
        cdef PyObject* pk
        cdef PyObject* pv
        cdef PyObject* qk
        cdef PyObject* qv
        cdef uint32_t seed
        cdef const char* k
        while PyDict_Next(event, &pos, &pk, &pv):
            if PyDict_Check(<object>pv):
                if not PyUnicode_Check(<object>pk):
                    raise TypeError(f"namespace names must be str; got "
                                    f"{type(<object>pk).__name__} {<object>pk!r}")
                k = PyUnicode_AsUTF8AndSize(<object>pk, &nk)
                seed = vw_hash(<const uint8_t*>k, nk, 0)
                pos2 = 0
                while PyDict_Next(<object>pv, &pos2, &qk, &qv):
                    self._feature(<object>qk, <object>qv, seed)
            else:
                self._feature(<object>pk, <object>pv, 0)
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
        self._event(event)
        return self._arrays(0, self.n)

    def hash_rows(self, events):
        """(values, column indices, row pointer) of a sequence of dict events."""
        cdef Py_ssize_t r, n_rows = len(events)
        cdef cnp.ndarray indptr = np.empty(n_rows + 1, dtype=np.intc)
        cdef int* ptr = <int*>cnp.PyArray_DATA(indptr)
        self.n = 0
        ptr[0] = 0
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
        data, ind = self._arrays(0, self.n)
        return data, ind, indptr
