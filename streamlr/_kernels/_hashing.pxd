# Dict events to hashed rows (estimators with hash_bits), declared for the
# engine, which hashes a learning event straight into ``idx``/``val``.

cimport cython
from libc.stdint cimport uint8_t, uint32_t


@cython.final
cdef class EventHasher:
    cdef readonly int bits
    cdef uint32_t mask
    cdef int* idx                   # the hashed columns of the last event(s)
    cdef double* val                # their values
    cdef Py_ssize_t n, cap          # how many; room for
    # interactions (VW's -q/--cubic): the namespace byte of each feature of
    # the event being hashed, and the crosses (bytes, in VW's order)
    cdef uint8_t* ns
    cdef uint8_t cur_ns
    cdef int n_inter
    cdef uint8_t* inter             # 3 namespace bytes per cross
    cdef int* inter_len             # 2 or 3
    cdef bint cross_later           # hash_rows: no crosses, the namespaces kept
    # prefetch hints: the engine's learn_one names where each column's
    # weights live (bytes base + column * stride to + last, up to 4 arrays),
    # so their cache lines are asked for as the columns are hashed; 0 arrays
    # elsewhere
    cdef const char* pf_base[4]
    cdef Py_ssize_t pf_stride[4]
    cdef Py_ssize_t pf_last[4]
    cdef int n_pf

    cdef int _feature(self, object key, object value, uint32_t seed) except -1
    cdef int _items(self, dict d, uint32_t seed, bint top) except -1
    cdef int _namespace(self, object name, dict features) except -1
    cdef int _event(self, dict event) except -1
    cdef int _reserve(self, Py_ssize_t n) except -1
    cdef int _cross(self, Py_ssize_t start) except -1
    cdef object _arrays(self, Py_ssize_t lo, Py_ssize_t hi)
    cdef int _hash_rows(self, events, Py_ssize_t n_rows, int* ptr) except -1
