"""CPU feature checks, compiled for the baseline ISA so that they can run
before any module built for a wider one is imported."""

cdef extern from *:
    """
    static int streamlr_has_avx2(void) {
    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    #else
        return 0;
    #endif
    }
    """
    int streamlr_has_avx2() nogil


def has_avx2():
    """True when this CPU runs AVX2 instructions."""
    return bool(streamlr_has_avx2())
