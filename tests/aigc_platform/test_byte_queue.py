"""ByteQueue hands bytes on in the sizes asked for, in order, whatever pieces they came in."""

from aigc_platform.core.byte_queue import ByteQueue, immutable


def test_take_joins_and_splits_pieces_in_order():
    queue = ByteQueue()
    for piece in (b"abc", b"", memoryview(b"defgh")[1:], b"ij"):
        queue.append(piece)
    assert len(queue) == 9
    assert queue.take(2) == b"ab"
    assert queue.take(4) == b"cefg"
    assert queue.take(100) == b"hij"
    assert len(queue) == 0 and not queue and queue.take(5) == b""


def test_only_immutable_pieces_are_kept_as_they_are():
    data = b"bytes"
    assert immutable(data) is data
    view = memoryview(data)[1:]
    assert immutable(view) is view
    reused = bytearray(b"buffer")
    kept = immutable(reused)
    reused[:] = b"BUFFER"
    assert kept == b"buffer"
    assert immutable(memoryview(reused)) == b"BUFFER" and type(immutable(memoryview(reused))) is bytes
