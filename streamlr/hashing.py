"""Feature hashing identical to Vowpal Wabbit 9.

``hash_feature(name, namespace, bits)`` is the column Vowpal Wabbit gives
feature ``name`` of namespace ``namespace`` in a ``2 ** bits`` weight
vector, so that models, files and events hashed here and by VW agree
feature for feature. ``murmurhash3_32`` is the hash underneath
(MurmurHash3_x86_32).

VW's rules, all applied to the UTF-8 bytes of the name:

* bytes ``<= 0x20`` (spaces, control characters) at both ends of a name or
  namespace are trimmed;
* the namespace hash is the hash of the namespace's name under seed 0 (so
  ``" "``, the default namespace, and ``""`` hash to 0);
* a name made only of ASCII digits (or empty) maps to its decimal value
  plus the namespace hash, mod ``2 ** 32``: ``"7"`` of the default
  namespace is column 7;
* any other name (``"-5"`` and ``"1.5"`` too) maps to
  ``murmurhash3_32(name, seed=namespace hash)``;
* the column is that value masked to its low ``bits`` bits.

Both functions run in compiled code (``streamlr/_kernels/hashing.pxd``, the
same inline functions the data readers use).
"""
import operator

from ._kernels import _hashing

__all__ = ["murmurhash3_32", "hash_feature"]


def _as_bytes(value, what):
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, got {type(value).__name__}")


def _name_bytes(name):
    if isinstance(name, bool):
        raise TypeError("name must be str, bytes or int, got bool")
    if isinstance(name, int):
        return str(int(name)).encode("ascii")
    return _as_bytes(name, "name")


def murmurhash3_32(data, seed=0):
    """MurmurHash3_x86_32 of a string or bytes, as an unsigned integer.

    Austin Appleby's 32-bit MurmurHash3 for x86, the hash Vowpal Wabbit (and
    ``mmh3.hash(data, seed, signed=False)``) computes; blocks are read
    little-endian, so the value is the same on every machine.

    Parameters
    ----------
    data : str or bytes
        What to hash; a ``str`` is hashed as its UTF-8 bytes.
    seed : int, default=0
        The seed, from 0 to ``2 ** 32 - 1``.

    Returns
    -------
    int
        The hash, from 0 to ``2 ** 32 - 1``.

    Raises
    ------
    TypeError
        If ``data`` is neither ``str`` nor bytes, or ``seed`` is not an
        integer.
    ValueError
        If ``seed`` is outside ``[0, 2 ** 32)``.

    Examples
    --------
    >>> from streamlr.hashing import murmurhash3_32
    >>> murmurhash3_32("foo")
    4138058784
    >>> murmurhash3_32(b"foo", seed=42) == murmurhash3_32("foo", 42)
    True
    """
    data = _as_bytes(data, "data")
    if isinstance(seed, bool):
        raise TypeError("seed must be an integer, got bool")
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}") from None
    if not 0 <= seed < 1 << 32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    return _hashing.murmur3(data, seed)


def hash_feature(name, namespace=" ", bits=18):
    """The column Vowpal Wabbit 9 gives a feature of a namespace.

    The same index as ``pyvw.Workspace.hash_feature(name,
    hash_space(namespace))`` on a ``-b 32`` workspace, masked to ``bits``
    bits: VW's trimming, its digit-only names and its namespace seed (see
    the module's description).

    Parameters
    ----------
    name : str, bytes or int
        The feature's name; an ``int`` is hashed as its decimal string.
    namespace : str or bytes, default=" "
        The namespace's full name (``"user"`` in ``|user ...``); the default
        namespace is ``" "`` (or ``""``).
    bits : int, default=18
        The weight vector has ``2 ** bits`` columns, from 1 to 32.

    Returns
    -------
    int
        The column, from 0 to ``2 ** bits - 1``.

    Raises
    ------
    TypeError
        If ``name`` or ``namespace`` is of another type (a ``bool`` name
        included).
    ValueError
        If ``bits`` is outside 1..32.

    Examples
    --------
    >>> from streamlr.hashing import hash_feature
    >>> hash_feature("7"), hash_feature(7), hash_feature(" 7 ")
    (7, 7, 7)
    >>> hash_feature("price", "u", bits=18)
    237992
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 32:
        raise ValueError(f"bits must be an integer in [1, 32], got {bits!r}")
    return _hashing.vw_index(_name_bytes(name), _as_bytes(namespace, "namespace"),
                             (1 << bits) - 1)
