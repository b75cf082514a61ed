# Feature hashing as Vowpal Wabbit 9 does it: C-level, GIL-free, inline.
#
# murmur3_32   MurmurHash3_x86_32 of n bytes with a 32-bit seed (blocks read
#              little-endian, so the same numbers on every machine).
# vw_hash      VW's hash of a name under a seed (a namespace hash, or 0 for a
#              namespace's own name): bytes <= 0x20 at both ends are trimmed;
#              a name of only ASCII digits (or nothing) is its decimal value
#              plus the seed, mod 2^32; any other name is murmur3_32(name, seed).
# vw_cross2/3  the index of a crossed feature (VW's -q / --cubic): the FNV
#              prime times the first index, xor the next (nested for three).
#              Only the low bits of the factors reach the low bits of the
#              result, so masking before or after crossing gives one index.
#
# All arithmetic is uint32: VW works in 64 bits and masks to at most 32, and
# the low 32 bits of its sums and products are these.

from libc.stdint cimport uint8_t, uint32_t

cdef enum:
    FNV_PRIME = 16777619


cdef inline uint32_t _rotl32(uint32_t x, int r) noexcept nogil:
    return (x << r) | (x >> (32 - r))


cdef inline uint32_t _fmix32(uint32_t h) noexcept nogil:
    h ^= h >> 16
    h *= <uint32_t>0x85ebca6bU
    h ^= h >> 13
    h *= <uint32_t>0xc2b2ae35U
    h ^= h >> 16
    return h


cdef inline uint32_t _scramble(uint32_t k) noexcept nogil:
    k *= <uint32_t>0xcc9e2d51U
    k = _rotl32(k, 15)
    k *= <uint32_t>0x1b873593U
    return k


cdef inline uint32_t murmur3_32(const uint8_t* data, Py_ssize_t n, uint32_t seed) noexcept nogil:
    cdef uint32_t h = seed, k
    cdef Py_ssize_t _, i, nblocks = n >> 2
    cdef const uint8_t* p = data
    for _ in range(nblocks):
        k = (<uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16)
             | (<uint32_t>p[3] << 24))
        h ^= _scramble(k)
        h = _rotl32(h, 13)
        h = h * 5 + <uint32_t>0xe6546b64U
        p += 4
    k = 0
    i = n & 3
    if i == 3:
        k ^= <uint32_t>p[2] << 16
    if i >= 2:
        k ^= <uint32_t>p[1] << 8
    if i >= 1:
        k ^= <uint32_t>p[0]
        h ^= _scramble(k)
    h ^= <uint32_t>n
    return _fmix32(h)


cdef inline uint32_t vw_hash(const uint8_t* s, Py_ssize_t n, uint32_t seed) noexcept nogil:
    cdef uint32_t value = 0
    cdef Py_ssize_t i
    cdef uint8_t c
    while n > 0 and s[0] <= 0x20:
        s += 1
        n -= 1
    while n > 0 and s[n - 1] <= 0x20:
        n -= 1
    for i in range(n):
        c = s[i]
        if c < 48 or c > 57:        # not an ASCII digit: a hashed name
            return murmur3_32(s, n, seed)
        value = value * 10 + (c - 48)
    return value + seed


cdef inline uint32_t _murmur_block(uint32_t h, uint32_t k) noexcept nogil:
    h ^= _scramble(k)
    h = _rotl32(h, 13)
    return h * 5 + <uint32_t>0xe6546b64U


cdef inline uint32_t _kv_byte(const uint8_t* k, Py_ssize_t nk, const uint8_t* v,
                              Py_ssize_t i) noexcept nogil:
    # byte i of k + "=" + v
    if i < nk:
        return k[i]
    if i == nk:
        return 61
    return v[i - nk - 1]


cdef inline uint32_t vw_hash_kv(const uint8_t* k, Py_ssize_t nk, const uint8_t* v, Py_ssize_t nv,
                                uint32_t seed) noexcept nogil:
    """vw_hash of the bytes k + "=" + v, read where they are (no copy: a
    block read back from a copy just written waits for the stores). The
    "=" is never trimmed and is not a digit: murmur3_32 of the trimmed
    bytes, k's leading and v's trailing bytes <= 0x20 dropped."""
    cdef Py_ssize_t i = 0, n, j
    cdef uint32_t h = seed, b
    cdef const uint8_t* q
    while nk > 0 and k[0] <= 0x20:
        k += 1
        nk -= 1
    while nv > 0 and v[nv - 1] <= 0x20:
        nv -= 1
    n = nk + 1 + nv
    while i + 4 <= nk:                 # blocks of k
        q = k + i
        h = _murmur_block(h, <uint32_t>q[0] | (<uint32_t>q[1] << 8) | (<uint32_t>q[2] << 16)
                          | (<uint32_t>q[3] << 24))
        i += 4
    while i + 4 <= n:
        if i > nk:                     # blocks of v
            q = v + (i - nk - 1)
            b = (<uint32_t>q[0] | (<uint32_t>q[1] << 8) | (<uint32_t>q[2] << 16)
                 | (<uint32_t>q[3] << 24))
        else:                          # the block with the "="
            b = 0
            for j in range(4):
                b |= _kv_byte(k, nk, v, i + j) << (8 * j)
        h = _murmur_block(h, b)
        i += 4
    if i < n:
        b = 0
        for j in range(n - i):
            b |= _kv_byte(k, nk, v, i + j) << (8 * j)
        h ^= _scramble(b)
    h ^= <uint32_t>n
    return _fmix32(h)


cdef inline uint32_t vw_cross2(uint32_t a, uint32_t b) noexcept nogil:
    return (a * <uint32_t>FNV_PRIME) ^ b


cdef inline uint32_t vw_cross3(uint32_t a, uint32_t b, uint32_t c) noexcept nogil:
    return (((a * <uint32_t>FNV_PRIME) ^ b) * <uint32_t>FNV_PRIME) ^ c
