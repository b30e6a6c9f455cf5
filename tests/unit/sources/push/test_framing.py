"""RFC 6587 framing of syslog over TCP."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netop.sources.syslog.framing import MAX_FRAME, Framer, FramingError


def test_octet_counting_split_anywhere() -> None:
    messages = [b"<13>one", b"<13>two\nwith a newline", b"<13>" + b"x" * 300]
    stream = b"".join(b"%d %s" % (len(m), m) for m in messages)
    for cut in range(1, len(stream)):
        framer = Framer()
        assert framer.feed(stream[:cut]) + framer.feed(stream[cut:]) == messages


def test_newline_framing_and_mixed() -> None:
    framer = Framer()
    assert framer.feed(b"<13>a\n<13>b\r\n5 <13>c<13>d") == [b"<13>a", b"<13>b\r", b"<13>c"]
    assert framer.feed(b"\n") == [b"<13>d"]


def test_a_huge_line_is_cut_and_the_rest_skipped() -> None:
    framer = Framer()
    out = framer.feed(b"<13>" + b"y" * (MAX_FRAME * 2) + b"\n<13>next\n")
    assert [len(m) for m in out] == [MAX_FRAME, 8]
    assert out[1] == b"<13>next"
    assert framer.oversize == 1


def test_impossible_count_closes_the_stream() -> None:
    with pytest.raises(FramingError):
        Framer().feed(b"99999999 <13>x")
    with pytest.raises(FramingError):
        Framer().feed(b"%d <13>x" % (MAX_FRAME + 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_any_chunks_only_raise_framing_errors(chunks: list[bytes]) -> None:
    framer = Framer()
    try:
        for chunk in chunks:
            for message in framer.feed(chunk):
                assert len(message) <= MAX_FRAME
    except FramingError:
        pass
    assert len(framer._buf) <= MAX_FRAME + 16
