"""The torch CUDA build lines: which compute capabilities each ships kernels for, by torch version, and the oldest
NVIDIA driver each runs on (webui-facts.md §7). Plain data and pure functions; the gpu check judges with them.

Sources:
- Compute capabilities: PyTorch's RELEASE.md "PyTorch CUDA support matrix" and the TORCH_CUDA_ARCH_LIST of each
  line in its .ci/manywheel/build_cuda.sh; the 2.8 release notes ("Removed support for Maxwell, Pascal, and Volta
  architectures with CUDA 12.8 and 12.9 builds": cu128 from 2.8 ships 7.0;7.5;8.0;8.6;9.0;10.0;12.0, Volta came back
  in 2.8 only for 2.8 to 2.10); pytorch#157517 and PR #158700 (the warning that asks Maxwell/Pascal users for cu126);
  pytorch#172352 (the 2.11 RFC: cu128 and cu130 are Turing 7.5 and newer, cu126 keeps 5.0 to 9.0).
- Drivers: NVIDIA's CUDA Compatibility guide, "Minor Version Compatibility" table: CUDA 11.x needs >= 450.80.02 on
  Linux / 452.39 on Windows, CUDA 12.x >= 525 (525.60.13 Linux, 527.41 Windows, the CUDA 12.0 GA drivers), CUDA 13.x
  >= 580 (r580).
- A card runs a build when the build has kernels for the card's major version at a minor version <= the card's
  (SASS is binary compatible within a major version: sm_86 kernels run on an 8.9 card; sm_90 ones never on 12.0).
"""

# tag: (CUDA version, first torch version of the line, last torch version or None while it is still built)
LINES = {
    "cu118": ((11, 8), (2, 0), (2, 7)),
    "cu121": ((12, 1), (2, 1), (2, 5)),
    "cu124": ((12, 4), (2, 4), (2, 6)),
    "cu126": ((12, 6), (2, 6), None),
    "cu128": ((12, 8), (2, 7), None),
    "cu130": ((13, 0), (2, 9), None),
}

_MAXWELL_TO_HOPPER = ("5.0", "6.0", "7.0", "7.5", "8.0", "8.6", "9.0")
_BLACKWELL = ("10.0", "12.0")
# tag: [(from torch version, compute capabilities with kernels)], oldest row first.
ARCHS = {
    "cu118": [((2, 0), ("3.7",) + _MAXWELL_TO_HOPPER), ((2, 1), _MAXWELL_TO_HOPPER)],
    "cu121": [((2, 1), _MAXWELL_TO_HOPPER)],
    "cu124": [((2, 4), _MAXWELL_TO_HOPPER)],
    "cu126": [((2, 6), _MAXWELL_TO_HOPPER)],
    "cu128": [((2, 7), _MAXWELL_TO_HOPPER + _BLACKWELL),  # 2.7: the first cu128, still with Maxwell/Pascal
              ((2, 8), ("7.0", "7.5", "8.0", "8.6", "9.0") + _BLACKWELL),  # 2.8: < 7.0 dropped (pytorch#157517)
              ((2, 11), ("7.5", "8.0", "8.6", "9.0") + _BLACKWELL)],  # 2.11: Volta dropped (pytorch#172352)
    "cu130": [((2, 9), ("7.5", "8.0", "8.6", "9.0") + _BLACKWELL)],
}

# CUDA major version: minimum driver on Linux and Windows (minor version compatibility).
DRIVERS = {
    11: {"linux": (450, 80, 2), "windows": (452, 39)},
    12: {"linux": (525, 60, 13), "windows": (527, 41)},
    13: {"linux": (580,), "windows": (580,)},
}
# Before CUDA 11 there was no minor version compatibility: the driver of each toolkit (2022 launchers: cu113 is 11.x).
DRIVERS[10] = {"linux": (440, 33), "windows": (441, 22)}

# The build to propose when a card is not covered: legacy cards (below Turing 7.5) cu126, Blackwell cu128.
LEGACY_TAG, BLACKWELL_TAG, CURRENT_TAG = "cu126", "cu128", "cu128"


def version_tuple(text):
    """'2.1.2+cu121' -> (2, 1, 2); '12.0' -> (12, 0); None when unreadable."""
    if text is None:
        return None
    if isinstance(text, tuple):
        return text
    parts = []
    for piece in str(text).split("+")[0].strip().split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts) or None


def tag_of(cuda):
    """'12.1' -> 'cu121'."""
    v = version_tuple(cuda)
    return "cu%d%d" % (v[0], v[1]) if v and len(v) >= 2 else None


def archs_for(tag, torch_version=None):
    """The compute capabilities (strings) ``tag`` ships kernels for with that torch version; the newest row when the
    version is unknown (an unpinned command installs the newest torch). None for a tag not in the table."""
    rows = ARCHS.get(tag)
    if not rows:
        return None
    wanted = version_tuple(torch_version)
    chosen = rows[-1][1]
    if wanted:
        chosen = rows[0][1]
        for start, archs in rows:
            if wanted[:2] >= start:
                chosen = archs
    return chosen


def covers(archs, cc):
    """Whether kernels for ``archs`` run on a card of compute capability ``cc`` ('8.9')."""
    card = version_tuple(cc)
    if not card or len(card) < 2:
        return True
    for arch in archs:
        a = version_tuple(arch)
        if a[0] == card[0] and a[1] <= card[1]:
            return True
    return False


def min_driver(cuda, platform_name):
    """The oldest driver (tuple) a build for CUDA ``cuda`` ('12.1') runs on, or None."""
    v = version_tuple(cuda)
    table = DRIVERS.get(v[0]) if v else None
    if not table:
        return None
    return table["windows" if platform_name == "windows" else "linux"]


def fitting_tag(cc, driver=None, platform_name="linux"):
    """The build to propose for a card: one whose newest torch covers ``cc`` and (when known) runs on ``driver``.
    Legacy cards get cu126, Blackwell cu128; None when no build fits (Kepler, or a driver too old for all)."""
    card = version_tuple(cc)
    if card and card < (5, 0):
        return None
    order = [BLACKWELL_TAG, "cu130"] if card and card[0] >= 10 else (
        [LEGACY_TAG] if card and card < (7, 5) else [CURRENT_TAG, LEGACY_TAG])
    order = order + ["cu118"]
    for tag in order:
        if card and not covers(archs_for(tag), cc):
            continue
        need = min_driver(".".join(str(n) for n in LINES[tag][0]), platform_name)
        if driver and need and tuple(driver) < need:
            continue
        return tag
    return None


def describe_archs(archs):
    """'5.0, 6.0 ... 9.0' for a message."""
    return ", ".join(archs)
