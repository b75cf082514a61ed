"""streamlr.hashing against its oracles: mmh3 (the hash) and Vowpal Wabbit 9
itself (pyvw's hash_feature / hash_space on a -b 32 workspace)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlr.hashing import hash_feature, murmurhash3_32

mmh3 = pytest.importorskip("mmh3")
pyvw = pytest.importorskip("vowpalwabbit")


class _VW:
    """pyvw's hashing (a holder: hypothesis would call a Workspace's own
    setup_example if it were a test's first argument)."""

    def __init__(self, ws):
        self.hash_feature, self.hash_space = ws.hash_feature, ws.hash_space


@pytest.fixture(scope="module")
def vw():
    # -b 32 gives VW's unmasked hashes; sparse weights avoid a 2**32 array
    ws = pyvw.Workspace("-b 32 --sparse_weights --quiet")
    yield _VW(ws)
    ws.finish()


# pyvw passes names to C++ as NUL-terminated strings: no NUL in oracle names
_no_nul = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
names = st.one_of(
    st.text(_no_nul, max_size=24),
    st.text(alphabet="0123456789", max_size=14),                  # digit-only names
    st.builds(lambda a, s, b: a + s + b,                          # padded, control bytes
              st.text(alphabet=" \t\x01\x0b\x1f\x20", max_size=3),
              st.text(_no_nul, max_size=10),
              st.text(alphabet=" \t\x01\x0b\x1f\x20\n", max_size=3)),
    st.builds(lambda s: f" {s} ", st.text(alphabet="0123456789", min_size=1, max_size=25)),
    st.sampled_from(["-5", "+5", "1.5", "1e3", "0x10", "0", "00", "٣", "é", "4294967296",
                     "18446744073709551617", "Constant", "a=b"]),
)
spaces = st.one_of(st.just(" "), st.just(""), st.text(_no_nul, max_size=12),
                   st.text(alphabet="0123456789", min_size=1, max_size=12),
                   st.sampled_from(["u", "user", " u ", "\x01u", "123", "é"]))


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=64), seed=st.integers(0, 2**32 - 1))
def test_murmurhash3_equals_mmh3_on_bytes(data, seed):
    assert murmurhash3_32(data, seed) == mmh3.hash(data, seed, signed=False)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), seed=st.integers(0, 2**32 - 1))
def test_murmurhash3_hashes_str_as_utf8(text, seed):
    expected = mmh3.hash(text.encode("utf-8", "surrogatepass"), seed, signed=False)
    assert murmurhash3_32(text, seed) == expected


@settings(max_examples=1500, deadline=None)
@given(name=names, ns=spaces)
def test_hash_feature_equals_vw(vw, name, ns):
    expected = vw.hash_feature(name, vw.hash_space(ns))
    assert hash_feature(name, ns, bits=32) == expected
    for bits in (1, 18, 31):
        assert hash_feature(name, ns, bits=bits) == expected & ((1 << bits) - 1)


@settings(max_examples=300, deadline=None)
@given(ns=spaces)
def test_namespace_hash_equals_vw(vw, ns):
    # an empty name maps to the namespace hash itself
    assert hash_feature("", ns, bits=32) == vw.hash_space(ns)


@settings(max_examples=300, deadline=None)
@given(k=st.integers(-10**25, 10**25), ns=spaces)
def test_int_names_hash_as_their_decimal_string(vw, k, ns):
    h = vw.hash_feature(str(k), vw.hash_space(ns))
    assert hash_feature(k, ns, bits=32) == h == hash_feature(str(k), ns, bits=32)


def test_vw_rules_by_hand(vw):
    # digits: value + namespace hash; the default namespace hashes to 0
    assert hash_feature("7") == 7 == hash_feature(" 7\t")
    assert hash_feature("", " ") == 0 == hash_feature("", "")
    hu = vw.hash_space("u")
    assert hash_feature("12", "u", bits=32) == (12 + hu) % 2**32
    big = "99999999999"
    assert hash_feature(big, "u", bits=32) == (int(big) + hu) % 2**32
    # anything else: murmur under the namespace seed (trimmed first)
    assert hash_feature("-5", "u", bits=32) == mmh3.hash("-5", hu, signed=False)
    assert hash_feature("\x01a b\x20", "u", bits=32) == mmh3.hash("a b", hu, signed=False)
    # bytes >= 0x80 are not trimmed
    assert hash_feature("\xa0a", bits=32) == mmh3.hash("\xa0a".encode(), 0, signed=False)
    # NUL is a trimmed control byte (not passable to pyvw, so by hand)
    assert hash_feature("\x00a\x00", bits=32) == mmh3.hash("a", 0, signed=False)
    assert hash_feature(b"a", b"u") == hash_feature("a", "u")


def test_bad_arguments():
    for bits in (0, 33, 1.5, True, "18"):
        with pytest.raises(ValueError, match="bits"):
            hash_feature("a", bits=bits)
    with pytest.raises(TypeError, match="name"):
        hash_feature(1.5)
    with pytest.raises(TypeError, match="name"):
        hash_feature(True)
    with pytest.raises(TypeError, match="namespace"):
        hash_feature("a", namespace=3)
    with pytest.raises(TypeError, match="data"):
        murmurhash3_32(5)
    with pytest.raises(ValueError, match="seed"):
        murmurhash3_32("a", -1)
    with pytest.raises(ValueError, match="seed"):
        murmurhash3_32("a", 2**32)
    with pytest.raises(TypeError, match="seed"):
        murmurhash3_32("a", 1.0)
