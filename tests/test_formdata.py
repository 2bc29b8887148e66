"""The form decoder: Stripe's bracket encoding, and no input that makes it fail other than a 400."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_stripe.core import formdata
from fake_stripe.core.errors import ParamError
from fake_stripe.core.formdata import Repeated, decode, decode_multipart


def test_nested_hashes_arrays_and_metadata_decode_in_order() -> None:
    got = decode(b"a[b][c]=v&list[]=x&list[]=y&idx[0]=p&idx[1]=q&metadata[order]=12&plain=1")
    assert got == {
        "a": {"b": {"c": "v"}},
        "list": ["x", "y"],
        "idx": {"0": "p", "1": "q"},
        "metadata": {"order": "12"},
        "plain": "1",
    }
    assert list(got) == ["a", "list", "idx", "metadata", "plain"]


def test_repeated_plain_keys_keep_every_value() -> None:
    got = decode(b"a=x&a=y")
    assert isinstance(got["a"], Repeated)
    assert got["a"] == ["x", "y"]


def test_plus_and_percent_escapes_decode_to_utf8() -> None:
    assert decode(b"name=Jane+Doe&city=S%C3%A3o%20Paulo&k%5Bx%5D=1") == {
        "name": "Jane Doe",
        "city": "São Paulo",
        "k": {"x": "1"},
    }


def test_empty_value_is_kept_as_empty_string_meaning_unset() -> None:
    assert decode(b"limits[accounts]=&description=") == {
        "limits": {"accounts": ""},
        "description": "",
    }


def test_rack_style_array_of_hashes_fills_one_hash_until_a_key_repeats() -> None:
    got = decode(b"a[][x]=1&a[][y]=2&a[][x]=3")
    assert got == {"a": [{"x": "1", "y": "2"}, {"x": "3"}]}


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b"a=1&a[b]=2", "a"),
        (b"a[b]=2&a=1", "a"),
        (b"a[]=1&a[b]=2", "a"),
        (b"a[b]=1&a[]=2", "a"),
        (b"name=%zz", "name"),
        (b"name=%E2%82", "name"),
        (b"a[b=1", "a[b"),
        (b"a" + b"[x]" * 20 + b"=1", "a"),
        (b"email=a%00b", "email"),
        (b"name=ok&email=a\x00b", "email"),
        (b"metadata[a%00]=1", "metadata[a\x00]"),
    ],
)
def test_malformed_input_is_a_param_error_naming_the_parameter(raw: bytes, param: str) -> None:
    with pytest.raises(ParamError) as info:
        decode(raw)
    assert info.value.status == 400
    assert info.value.param == param


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_no_byte_string_makes_the_decoder_raise_anything_but_a_param_error(raw: bytes) -> None:
    try:
        decode(raw)
    except ParamError as e:
        assert e.status == 400


_key = st.text(alphabet="ab[]0%=&+", min_size=0, max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_key, _key), max_size=8))
def test_bracket_soup_only_ever_yields_a_tree_or_a_param_error(
    pairs: list[tuple[str, str]],
) -> None:
    raw = "&".join(f"{k}={v}" for k, v in pairs).encode()
    try:
        tree = decode(raw)
    except ParamError as e:
        assert e.status == 400
        return
    assert isinstance(tree, dict)


def _multipart(*parts: tuple[str, str, bytes]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += (
            b"--XyZ\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n" + data + b"\r\n"
        )
    return out + b"--XyZ--\r\n"


def test_multipart_decodes_fields_brackets_and_a_file_as_its_name() -> None:
    body = _multipart(
        ("purpose", "", b"dispute_evidence"),
        ("file_link_data[create]", "", b"true"),
        ("file", "evidence.pdf", b"%PDF-1.4 \xff\xfe binary"),
    )
    assert decode_multipart(body, "multipart/form-data; boundary=XyZ") == {
        "purpose": "dispute_evidence",
        "file_link_data": {"create": "true"},
        "file": "evidence.pdf",
    }


def test_multipart_without_a_boundary_or_a_name_is_refused() -> None:
    with pytest.raises(ParamError, match="names no boundary"):
        decode_multipart(b"x", "multipart/form-data")
    body = b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n"
    with pytest.raises(ParamError, match="a part has no name"):
        decode_multipart(body, "multipart/form-data; boundary=XyZ")
    with pytest.raises(ParamError, match="Invalid UTF-8 in parameter: note"):
        decode_multipart(_multipart(("note", "", b"\xff")), "multipart/form-data; boundary=XyZ")


def test_names_kept_between_bodies_decode_the_same_and_stay_bounded() -> None:
    from fake_stripe.core import formdata

    body = b"metadata%5Border%5D=1&name=A+B&items[][price]=p&items[][price]=q"
    first = decode(body)
    first["metadata"]["order"] = "changed"  # the caller's own tree
    first["items"].append({"price": "r"})
    assert decode(body) == {
        "metadata": {"order": "1"},
        "name": "A B",
        "items": [{"price": "p"}, {"price": "q"}],
    }
    # A name refused is refused every time, and not kept.
    for _ in range(2):
        with pytest.raises(ParamError, match="Invalid parameter name"):
            decode(b"a]b=1")
    # Many distinct names: the kept ones stay bounded.
    decode(b"&".join(b"k%d=v" % i for i in range(3 * formdata._NAMES_KEPT)))
    assert len(formdata._names) <= formdata._NAMES_KEPT
    # A value that is not UTF-8 names its parameter, escaped or not.
    for raw in (b"note=\xff", b"note=%FF"):
        with pytest.raises(ParamError, match="Invalid UTF-8 in parameter: note"):
            decode(raw)


def _decoded_by_insert(raw: bytes) -> dict[str, Any]:
    """What `decode` gives, every pair through the generic `_insert` (no shortcut)."""
    root: dict[str, Any] = {}
    for pair in filter(None, raw.split(b"&")):
        k, _, v = pair.partition(b"=")
        key, parts = formdata._name(k)
        formdata._insert(root, parts or [key], formdata._unquote(v, key))
    return root


_names = st.sampled_from(["a", "b", "a[x]", "a[y]", "b[x]", "a[]", "a[x][y]", "m[0]", "m[1]"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_names, st.sampled_from(["1", "v", ""])), max_size=8))
def test_a_hash_key_shortcut_decodes_as_the_generic_insert(pairs: list[tuple[str, str]]) -> None:
    raw = "&".join(f"{k}={v}" for k, v in pairs).encode()
    try:
        expected: Any = _decoded_by_insert(raw)
    except ParamError as e:
        expected = ("error", e.param)
    try:
        got: Any = decode(raw)
    except ParamError as e:
        got = ("error", e.param)
    assert got == expected
    assert repr(got) == repr(expected)  # the same order, and Repeated where repeated
