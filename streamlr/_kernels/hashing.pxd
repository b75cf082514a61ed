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


cdef inline uint32_t vw_cross2(uint32_t a, uint32_t b) noexcept nogil:
    return (a * <uint32_t>FNV_PRIME) ^ b


cdef inline uint32_t vw_cross3(uint32_t a, uint32_t b, uint32_t c) noexcept nogil:
    return (((a * <uint32_t>FNV_PRIME) ^ b) * <uint32_t>FNV_PRIME) ^ c
