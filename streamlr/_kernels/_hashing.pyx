"""Vowpal Wabbit's feature hashing for Python callers (``streamlr.hashing``).

Thin wrappers over the inline C functions of ``hashing.pxd``; arguments are
checked by ``streamlr.hashing``: these take bytes and unsigned 32-bit ints.
"""
from libc.stdint cimport uint8_t, uint32_t

from .hashing cimport murmur3_32, vw_cross2, vw_cross3, vw_hash


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
