"""Bytes that arrived as pieces, handed on in sizes of the reader's choosing with one copy each."""

from collections import deque


class ByteQueue:
    """A FIFO of immutable byte pieces. `take` joins the first bytes into one `bytes` (the only copy);
    a piece that crosses the end is split by views, not copied. Pieces are kept as given, so only
    immutable ones (bytes, or views of bytes) may go in: a caller's reused buffer would change under us."""

    def __init__(self):
        self._pieces: deque[bytes | memoryview] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, piece: bytes | memoryview) -> None:
        if piece:
            self._pieces.append(piece)
            self._size += len(piece)

    def take(self, size: int) -> bytes:
        """The first `size` bytes (fewer if fewer are here), removed from the queue."""
        needed = min(size, self._size)
        taken = []
        self._size -= needed
        while needed:
            piece = self._pieces.popleft()
            if len(piece) > needed:
                view = memoryview(piece)
                piece, rest = view[:needed], view[needed:]
                self._pieces.appendleft(rest)
            taken.append(piece)
            needed -= len(piece)
        return b"".join(taken)

    def clear(self) -> None:
        self._pieces.clear()
        self._size = 0


def immutable(piece: bytes | bytearray | memoryview) -> bytes | memoryview:
    """The piece itself where nobody can change it later (bytes, a view of bytes), else a copy."""
    if type(piece) is bytes or (isinstance(piece, memoryview) and type(piece.obj) is bytes):
        return piece
    return bytes(piece)
