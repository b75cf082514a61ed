# Dict events to hashed rows (estimators with hash_bits), declared for the
# engine, which hashes a learning event straight into ``idx``/``val``.

cimport cython
from libc.stdint cimport uint32_t


@cython.final
cdef class EventHasher:
    cdef readonly int bits
    cdef uint32_t mask
    cdef int* idx                   # the hashed columns of the last event(s)
    cdef double* val                # their values
    cdef Py_ssize_t n, cap          # how many; room for
    cdef char* scratch              # "key=value" of string features
    cdef Py_ssize_t cap_scratch

    cdef int _push(self, uint32_t index, double value) except -1
    cdef int _feature(self, object key, object value, uint32_t seed) except -1
    cdef int _event(self, dict event) except -1
    cdef object _arrays(self, Py_ssize_t lo, Py_ssize_t hi)
