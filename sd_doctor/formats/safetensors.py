"""The JSON header of a ``.safetensors`` file, read without torch or the safetensors package.

Layout: 8 bytes little-endian unsigned header length N, then N bytes of UTF-8 JSON mapping tensor names to
{dtype, shape, data_offsets} (plus an optional ``__metadata__`` entry), then the tensor data. Only the header is
read; its size is bounded so a corrupt or hostile file cannot make us read gigabytes.
"""

import json
import os
import struct

MAX_HEADER_BYTES = 100 * 1024 * 1024


class HeaderError(ValueError):
    """The file is not a readable safetensors file (the message says why)."""


def read_header(path, max_bytes=MAX_HEADER_BYTES):
    """The header as a dict {tensor name: info, '__metadata__': {...}}. Raises HeaderError or OSError."""
    from sd_doctor.formats.textfile import open_regular

    with open_regular(path) as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise HeaderError("shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", head)
        if length == 0:
            raise HeaderError("empty header")
        if length > max_bytes:
            raise HeaderError("header length %d exceeds the %d-byte bound" % (length, max_bytes))
        try:
            size = os.fstat(fh.fileno()).st_size
        except OSError:
            size = None
        if size is not None and length > size - 8:
            raise HeaderError("header length %d is larger than the file" % length)
        data = fh.read(length)
    if len(data) < length:
        raise HeaderError("file ends inside the header")
    try:
        header = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HeaderError("header is not JSON: %s" % exc)
    except RecursionError:  # deeply nested JSON: a hostile or corrupt header costs this file only
        raise HeaderError("header JSON is nested too deeply")
    if not isinstance(header, dict):
        raise HeaderError("header is not a JSON object")
    return header


def tensor_names(path, max_bytes=MAX_HEADER_BYTES):
    """The tensor names in a safetensors file (without ``__metadata__``)."""
    return [k for k in read_header(path, max_bytes) if k != "__metadata__"]
