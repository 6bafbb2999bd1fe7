"""The LightGCN benchmark text format (Gowalla, Yelp2018, Amazon-Book splits).

A dataset directory holds ``train.txt`` and ``test.txt``; each line is
``user item item ...``: space-separated non-negative integers, the user first,
then the items that user interacted with (0-based IDs; a line may hold a user
with no items; blank lines are skipped). There are no timestamps, ratings or
catalog; ``item_list.txt`` / ``user_list.txt`` (original IDs) are ignored.

:func:`load_lightgcn` keeps the published protocol: train.txt is the training
part and test.txt the test part, every pair an ``interaction`` event of value
1.0, and the IDs the integers of the files. ``valid_ratio > 0`` carves a
validation part out of each user's training pairs (seeded); the LightGCN paper
itself trains on all of train.txt and has no validation part.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import DataError, describe_rows
from ..schema import InteractionLog
from ..splits import Split, given_split

EVENT = "interaction"
SPLIT_NAME = "lightgcn-given"
FILES = ("train.txt", "test.txt")
#: Longest accepted ID in digits (10**18 - 1 fits in int64 with room to add digits).
_MAX_DIGITS = 18
_POW10 = 10 ** np.arange(_MAX_DIGITS, dtype=np.int64)
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = (32, 9, 13, 11, 12)  # space, tab, CR, VT, FF (newline is counted separately)


def _bad_token(data: bytes, position: int) -> tuple[int, str]:
    """File line number (1-based) and the whitespace-delimited token around byte ``position``."""
    line = data.count(b"\n", 0, position) + 1
    start = position
    while start > 0 and data[start - 1] not in b" \t\r\n\x0b\x0c":
        start -= 1
    end = position
    while end < len(data) and data[end] not in b" \t\r\n\x0b\x0c":
        end += 1
    return line, data[start:end].decode("utf-8", errors="replace")


def _parse_pairs(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse one file into ``(user, item, line)``, each ``(n_pairs,)`` int64, in file order.

    Vectorised over the bytes (no Python object per token): digits are
    grouped into tokens, the first token of each line is its user.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc}") from None
    skip = len(_BOM) if data.startswith(_BOM) else 0
    buf = np.frombuffer(data, dtype=np.uint8)[skip:]
    is_digit = (buf >= 48) & (buf <= 57)
    is_newline = buf == 10
    ok = is_digit | is_newline
    for code in _WHITESPACE:
        ok |= buf == code
    if not ok.all():
        position = int(np.argmin(ok)) + skip
        line, token = _bad_token(data, position)
        raise DataError(
            f"{path}: line {line}: {token!r} is not a non-negative integer ID (expected 'user item item ...', "
            "space-separated integers)"
        )
    digit_pos = np.flatnonzero(is_digit)
    empty = np.empty(0, dtype=np.int64)
    if not len(digit_pos):
        return empty, empty, empty
    new_token = np.empty(len(digit_pos), dtype=bool)
    new_token[0] = True
    np.not_equal(digit_pos[1:], digit_pos[:-1] + 1, out=new_token[1:])
    starts = np.flatnonzero(new_token)  # index into digit_pos of each token's first digit
    lengths = np.diff(np.append(starts, len(digit_pos)))
    newline_pos = np.flatnonzero(is_newline)
    token_line = np.searchsorted(newline_pos, digit_pos[starts])  # 0-based line of each token
    if (lengths > _MAX_DIGITS).any():
        first = int(np.argmax(lengths > _MAX_DIGITS))
        line, token = _bad_token(data, int(digit_pos[starts[first]]) + skip)
        raise DataError(f"{path}: line {line}: ID {token!r} is too large (more than {_MAX_DIGITS} digits)")
    token_of_digit = np.cumsum(new_token) - 1
    ends = starts + lengths - 1  # index of each token's last digit
    exponent = ends[token_of_digit] - np.arange(len(digit_pos))
    digits = (buf[digit_pos] - 48).astype(np.int64)
    values = np.add.reduceat(digits * _POW10[exponent], starts)
    del digits, exponent, token_of_digit
    first_in_line = np.empty(len(starts), dtype=bool)
    first_in_line[0] = True
    np.not_equal(token_line[1:], token_line[:-1], out=first_in_line[1:])
    user_of_token = values[first_in_line][np.cumsum(first_in_line) - 1]
    is_item = ~first_in_line
    return user_of_token[is_item], values[is_item], token_line[is_item] + 1


def read_lightgcn_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read one LightGCN ``train.txt`` / ``test.txt`` into (user, item) pairs.

    Returns:
        DataFrame with columns ``user_id`` and ``item_id`` (int64), one row per
        pair in file order. A user listed with no items contributes no row.

    Raises:
        DataError: the file is missing, or a token is not a non-negative
            integer (naming the file, the line and the token).
    """
    user, item, _ = _parse_pairs(Path(path))
    return pd.DataFrame({"user_id": user, "item_id": item})


def _first_duplicates(user: np.ndarray, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort order by (user, item) and the mask (in that order) of rows equal to their predecessor."""
    same = np.zeros(len(user), dtype=bool)
    if not len(user):
        return np.empty(0, dtype=np.int64), same
    width = int(item.max()) + 1
    if int(user.max()) < (np.iinfo(np.int64).max - width) // width:
        key = user * width + item  # one int64 key: a stable argsort is much faster than lexsort
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        same[1:] = sorted_key[1:] == sorted_key[:-1]
    else:
        order = np.lexsort((item, user))
        su, si = user[order], item[order]
        same[1:] = (su[1:] == su[:-1]) & (si[1:] == si[:-1])
    return order, same


def _check_no_duplicates(path: Path, user: np.ndarray, item: np.ndarray, line: np.ndarray) -> None:
    order, same = _first_duplicates(user, item)
    if same.any():
        dup_rows = np.sort(order[same])
        first = dup_rows[0]
        raise DataError(
            f"{path}: {len(dup_rows)} duplicate (user, item) pairs (first: user {int(user[first])}, item "
            f"{int(item[first])}; "
            f"{describe_rows(line[dup_rows], line_offset=0)}); the LightGCN splits list each pair once"
        )


def _valid_parts(user: np.ndarray, valid_ratio: float, seed: int) -> np.ndarray:
    """Mask over training pairs that go to valid: per user, ``floor(valid_ratio * n)``
    pairs at random, plus one when that share is in (0, 1) and the user keeps
    at least one training pair (RecBole's rounding, as in ``user_ratio_split``)."""
    rng = np.random.default_rng(seed)
    key = rng.random(len(user))
    order = np.lexsort((key, user))
    sorted_user = user[order]
    starts = np.flatnonzero(np.r_[True, sorted_user[1:] != sorted_user[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    share = valid_ratio * counts
    n_valid = np.floor(share).astype(np.int64)
    n_valid += (n_valid == 0) & (share > 0) & (counts > 1)
    rank = np.arange(len(order)) - np.repeat(starts, counts)
    mask = np.empty(len(order), dtype=bool)
    mask[order] = rank < np.repeat(n_valid, counts)
    return mask


def load_lightgcn(directory: str | os.PathLike, *, valid_ratio: float = 0.0, seed: int = 2020) -> Split:
    """Load a LightGCN dataset directory as its given train/test split.

    Args:
        directory: the folder with ``train.txt`` and ``test.txt``.
        valid_ratio: share of each user's training pairs moved to a ``valid``
            part (seeded); 0.0 (default) keeps the published protocol exactly.
        seed: random seed of the validation carve (unused when ``valid_ratio`` is 0).

    Returns:
        A :class:`Split` (protocol ``lightgcn-given``, method ``given``) over a
        log of ``interaction`` events with no timestamps and a bare catalog;
        candidate items are the items with a training pair.

    Raises:
        ValueError: ``valid_ratio`` is not in [0, 1).
        DataError: a file is missing or malformed, a file lists a pair twice,
            or a pair is in both train.txt and test.txt.
    """
    if not isinstance(valid_ratio, (int, float)) or isinstance(valid_ratio, bool) or not 0.0 <= valid_ratio < 1.0:
        raise ValueError(f"valid_ratio must be a number in [0, 1), got {valid_ratio!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    for name in FILES:
        if not (directory / name).is_file():
            raise DataError(
                f"{directory / name}: no such file; a LightGCN dataset directory needs {' and '.join(FILES)}"
            )
    parsed = []
    for name in FILES:
        path = directory / name
        user, item, line = _parse_pairs(path)
        _check_no_duplicates(path, user, item, line)
        parsed.append((user, item, line))
    (tr_user, tr_item, tr_line), (te_user, te_item, te_line) = parsed

    user = np.concatenate([tr_user, te_user])
    item = np.concatenate([tr_item, te_item])
    n_train = len(tr_user)
    order, same = _first_duplicates(user, item)
    if same.any():
        # within-file duplicates were ruled out, so an equal neighbour is a train/test overlap;
        # the stable sort puts the train row first
        test_rows = np.sort(order[same])
        first_test = test_rows[0]
        u, i = int(user[first_test]), int(item[first_test])
        train_row = int(np.flatnonzero((tr_user == u) & (tr_item == i))[0])
        raise DataError(
            f"{directory}: {len(test_rows)} (user, item) pairs are in both train.txt and test.txt "
            f"(first: user {u}, item {i}; train.txt line {int(tr_line[train_row])}, test.txt line "
            f"{int(te_line[first_test - n_train])})"
        )

    part = np.empty(len(user), dtype=object)
    part[:n_train] = "train"
    part[n_train:] = "test"
    if valid_ratio > 0 and n_train:
        carve = _valid_parts(tr_user, float(valid_ratio), seed)
        part[:n_train][carve] = "valid"

    # no event/value/timestamp columns: from_frames fills event = "interaction", value = 1.0, no time
    interactions = pd.DataFrame({"user_id": user, "item_id": item})
    log = InteractionLog.from_frames(interactions, None, default_event=EVENT, duplicates="keep", source=str(directory))
    params = {
        "source": str(directory),
        "valid_ratio": float(valid_ratio),
        "seed": int(seed) if valid_ratio > 0 else None,
        "files": list(FILES),
    }
    split = given_split(log, part, name=SPLIT_NAME, params=params)
    if valid_ratio > 0:
        split = dataclasses.replace(split, protocol=dataclasses.replace(split.protocol, seed=int(seed)))
    return split
