"""Encode a large catalog split across the ranks of a ``torch.distributed`` group, into one encoder cache.

Typical use, one process per rank (``torchrun --nproc-per-node 2 script.py``)::

    from interestgraph.encoder import EncoderConfig, TextEncoder
    from interestgraph.distributed import cleanup, init_from_env, rank_device
    from interestgraph.encoder.distributed import encode_distributed

    started = init_from_env()                          # gloo on CPU, nccl on CUDA; no-op outside torchrun
    encoder = TextEncoder(EncoderConfig(device=rank_device("auto")))   # cuda:LOCAL_RANK on a GPU node
    vectors = encode_distributed(texts, encoder, cache_dir="graphs/.encoder-cache")   # (n, dim) on every rank
    if started:
        cleanup()                                      # barrier + destroy_process_group

How it runs (every rank calls it with the same ``texts`` and an encoder of the
same :attr:`~interestgraph.encoder.TextEncoder.identity`):

1. Every rank checks that the ranks agree on the encoder identity, the vector
   width and the texts (a SHA-256 over them); a disagreement raises
   ``ValueError`` on every rank (no rank is left waiting).
2. Rank 0 alone opens the cache and looks up the unique texts; it broadcasts
   the indices of the missing ones, ordered longest first.
3. Rank ``r`` encodes the missing texts at positions ``r, r + W, r + 2W, ...``
   of that order (``W`` ranks): a strided share, so every rank gets a similar
   mix of long and short texts and the shares differ by at most one text.
   The encoder's own disk cache, if it has one, is set aside meanwhile: only
   rank 0 writes the cache, once.
4. The shares are gathered to rank 0 with ``dist.gather`` of float32 tensors
   padded to the longest share (gloo and nccl both do this; no shared file
   system is needed, so ranks may sit on different machines). Rank 0 writes
   the new vectors into the cache in one ``put_many`` (one transaction).
5. The unique vectors are broadcast from rank 0 and every rank returns the
   full ``(n, dim)`` matrix (``all_ranks=False``: only rank 0 does; the other
   ranks return a ``(0, dim)`` tensor and skip that broadcast).

Only tensors travel between ranks (no pickled objects). A rank whose encoder
fails raises; the others learn of it at the next collective and raise
:class:`RankFailedError` (a ``RuntimeError``) naming that rank instead of waiting for it.

Memory: rank 0 holds the unique vectors, ``4 * u * dim`` bytes for ``u``
distinct texts (1.5 GB for a million MiniLM vectors), plus the gathered shares
(as much again for the missing texts); with ``all_ranks=True`` every rank
holds the ``(n, dim)`` result. Split a larger catalog into calls of a few
hundred thousand texts: each call adds its part to the cache.

Workers outside torch.distributed (a Spark job, separate machines) can instead
each encode their own part with a ``TextEncoder(EncoderConfig(cache_dir=local_dir))``
and the caches be combined afterwards with :meth:`EmbeddingCache.merge
<interestgraph.encoder.cache.EmbeddingCache.merge>`
(``interestgraph encode --encoder-cache DIR --merge OTHER``).

Without an initialised process group (or with a group of one) the same code
runs in the one process: cache lookup, encode of the missing texts, one
``put_many``. The cache rows are keyed like :class:`~interestgraph.encoder.TextEncoder`'s
own (identity, SHA-256 of the text), so a later
``TextEncoder(EncoderConfig(cache_dir=...)).encode(texts)`` finds every text.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from ..distributed import world
from ..errors import InterestGraphError
from .cache import EmbeddingCache
from .text import check_texts

__all__ = [
    "DistributedEncodeResult",
    "RankFailedError",
    "encode_distributed",
    "raise_if_any_rank_failed",
    "run_distributed_encode",
]

logger = logging.getLogger("interestgraph.encoder.distributed")


class RankFailedError(InterestGraphError, RuntimeError):
    """Raised on the ranks whose step worked when the same step failed on another rank (named in the message)."""


@dataclass
class DistributedEncodeResult:
    """What :func:`run_distributed_encode` did.

    Attributes:
        vectors: ``(n, dim)`` float32 on the CPU, row ``i`` for ``texts[i]``
            (``(0, dim)`` on ranks other than 0 when ``all_ranks=False``).
        n_texts: ``n``, the texts given.
        n_unique: distinct texts among them.
        n_cached: distinct texts found in the cache (encoded by nobody).
        n_encoded: distinct texts encoded, over all ranks (``n_unique - n_cached``).
        per_rank: texts encoded by each rank (length = world size).
        world_size: ranks in the group (1 without a process group).
        rank: this process's rank.
        seconds: wall time of the call on this rank, in seconds.
        encode_seconds: wall time of this rank's own share of encoding, in seconds.
        identity: the encoder identity the cache rows are keyed by.
        cache_dir: the cache written by rank 0 (``None``: no cache).
    """

    vectors: torch.Tensor
    n_texts: int
    n_unique: int
    n_cached: int
    n_encoded: int
    per_rank: list[int] = field(default_factory=list)
    world_size: int = 1
    rank: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    identity: str = ""
    cache_dir: str | None = None

    def summary(self) -> dict:
        """The counts and timings as a JSON-ready dict (no vectors)."""
        return {
            "texts": self.n_texts,
            "unique": self.n_unique,
            "cached": self.n_cached,
            "encoded": self.n_encoded,
            "per_rank": list(self.per_rank),
            "world_size": self.world_size,
            "seconds": round(self.seconds, 3),
            "identity": self.identity,
            "cache_dir": self.cache_dir,
        }


# -- internals --------------------------------------------------------------------------------------------------
def _comm_device(group: dist.ProcessGroup | None) -> torch.device:
    """Where collective tensors must live: the current CUDA device for nccl, else the CPU."""
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _texts_digest(texts: Sequence[str]) -> bytes:
    """SHA-256 over the texts in order (each length-prefixed), 32 bytes: the ranks compare it."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.digest()


def _encoder_is_frozen(encoder: object) -> bool:
    """Whether the encoder's outputs depend on the text only (cacheable): TextEncoder mode 'frozen', or no modes at
    all."""
    config = getattr(encoder, "config", None)
    return getattr(config, "mode", "frozen") == "frozen"


def _encode_options(encoder: object, **options: object) -> dict[str, object]:
    """The keyword options ``encoder.encode`` accepts (all for ``**kwargs``); ``None`` values are left out (the
    encoder's defaults)."""
    options = {k: v for k, v in options.items() if v is not None}
    try:
        params = inspect.signature(encoder.encode).parameters
    except (TypeError, ValueError):
        return options
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    return {k: v for k, v in options.items() if k in params}


@contextlib.contextmanager
def _own_cache_set_aside(encoder: object) -> Iterator[None]:
    """Run ``encoder.encode`` without its disk cache (TextEncoder keeps it in ``_cache``): only rank 0 writes, once."""
    saved = getattr(encoder, "_cache", None)
    if saved is None:
        yield
        return
    encoder._cache = None
    try:
        yield
    finally:
        encoder._cache = saved


def _agree(
    values: torch.Tensor, group: dist.ProcessGroup | None, device: torch.device, world_size: int
) -> list[torch.Tensor]:
    """``all_gather`` of a small 1-D tensor (same length on every rank): one entry per rank, on the CPU."""
    local = values.to(device)
    out = [torch.empty_like(local) for _ in range(world_size)]
    dist.all_gather(out, local, group=group)
    return [t.cpu() for t in out]


def _raise_if_any_failed(
    error: Exception | None,
    rank: int,
    group: dist.ProcessGroup | None,
    device: torch.device,
    world_size: int,
    what: str,
) -> None:
    """Every rank says whether ``what`` failed on it; a rank whose step failed re-raises, the others raise RuntimeError
    naming it."""
    flags = _agree(torch.tensor([0 if error is None else 1], dtype=torch.int64), group, device, world_size)
    failed = [r for r, flag in enumerate(flags) if int(flag.item())]
    if error is not None:
        raise error
    if failed:
        raise RankFailedError(f"{what} failed on rank(s) {failed} (see their stderr); rank {rank} stops too")


def raise_if_any_rank_failed(error: Exception | None, what: str, group: dist.ProcessGroup | None = None) -> None:
    """A collective check after a step that may fail on some ranks only, so that no rank waits forever for a failed one.

    Every rank of ``group`` must call it (with ``error=None`` where the step
    worked). The ranks whose step failed re-raise their ``error``; the others
    raise :class:`RankFailedError` (a ``RuntimeError``) naming the failed ranks and ``what``. Without a
    process group (or a group of one) it just re-raises ``error`` if any.
    """
    rank, world_size = world(group)
    if world_size == 1:
        if error is not None:
            raise error
        return
    _raise_if_any_failed(error, rank, group, _comm_device(group), world_size, what)


# -- the public API ---------------------------------------------------------------------------------------------
def run_distributed_encode(
    texts: Sequence[str],
    encoder,
    *,
    cache_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    show_progress: bool | None = None,
    all_ranks: bool = True,
    group: dist.ProcessGroup | None = None,
) -> DistributedEncodeResult:
    """Encode ``texts`` split across the ranks of ``group``, with one cache on rank 0; see the module docstring.

    Args:
        texts: n strings, the same on every rank (checked). Duplicates are
            encoded once.
        encoder: this rank's encoder: ``encode(texts, batch_size=, show_progress=) -> (k, dim)``,
            ``identity`` (str) and ``dim`` (int), e.g. a :class:`~interestgraph.encoder.TextEncoder`
            on ``cuda:LOCAL_RANK`` (see :func:`interestgraph.distributed.rank_device`). Its identity and
            dim must agree across ranks (checked).
        cache_dir: the disk cache rank 0 reads and writes (``cache_dir/embeddings.sqlite``);
            ``None`` uses the encoder's own cache when it has one (a frozen
            TextEncoder with ``EncoderConfig.cache_dir``), else no cache.
            Only rank 0 opens it, so other machines need no access to it.
        batch_size: texts per forward pass on each rank (default: the encoder's own).
        show_progress: rank 0's progress bar over its share, on stderr
            (:mod:`interestgraph.progress`); ``None`` = when there are more
            than 2 batches. Other ranks never show one.
        all_ranks: True: every rank returns the ``(n, dim)`` matrix (one
            broadcast of the unique vectors from rank 0). False: only rank 0
            does; the others return ``(0, dim)`` (for callers that only fill the cache).
        group: the process group (default: the default group).

    Returns:
        A :class:`DistributedEncodeResult` whose ``vectors`` are float32 on the CPU.

    Raises:
        ValueError: ``texts`` not a sequence of strings, or different on some
            rank; the encoder identity / dim differs between ranks; ``cache_dir``
            given for a trainable-mode encoder (its outputs are not cacheable).
        RankFailedError: another rank failed (rank 0's cache lookup or write, or a rank's encoding);
            a ``RuntimeError``.
    """
    started = time.perf_counter()
    texts = check_texts(texts)
    rank, world_size = world(group)
    identity, dim = str(encoder.identity), int(encoder.dim)
    if cache_dir is not None and not _encoder_is_frozen(encoder):
        raise ValueError(
            f"cache_dir={str(cache_dir)!r} but the encoder trains (mode {encoder.config.mode!r}): its vectors change "
            "with its weights and are never cached"
        )
    distributed = world_size > 1
    device = _comm_device(group) if distributed else torch.device("cpu")

    unique = list(dict.fromkeys(texts))
    if distributed:  # 1. the ranks agree on identity, width and texts
        mine = torch.tensor(
            list(hashlib.sha256(identity.encode("utf-8")).digest())
            + list(_texts_digest(texts))
            + [dim % 65536, dim // 65536],
            dtype=torch.int64,
        )
        everyone = _agree(mine, group, device, world_size)
        if any(
            not torch.equal(everyone[0][:32], other[:32]) or not torch.equal(everyone[0][64:], other[64:])
            for other in everyone
        ):
            raise ValueError(
                f"encoder: the ranks' encoders differ (identity or dim); rank {rank} has identity {identity[:16]}..., "
                f"dim {dim}; give every rank the same model and max_length"
            )
        if any(not torch.equal(everyone[0][32:64], other[32:64]) for other in everyone):
            raise ValueError(
                f"texts: the ranks were given different texts (rank {rank} has {len(texts)}); every rank must pass the "
                "same texts in the same order"
            )

    # 2. rank 0 looks the unique texts up and says which are missing, longest first
    cache: EmbeddingCache | None = None
    own_cache = False
    unique_vectors = torch.zeros(len(unique), dim, dtype=torch.float32) if rank == 0 else None
    order = torch.zeros(0, dtype=torch.int64)
    try:
        error: Exception | None = None
        try:
            if rank == 0:
                if cache_dir is not None:
                    cache, own_cache = EmbeddingCache(cache_dir), True
                elif _encoder_is_frozen(encoder):
                    cache = getattr(encoder, "cache", None)
                missing = list(range(len(unique)))
                if cache is not None and unique:
                    found, vectors = cache.get_many(identity, unique, dim=dim)
                    unique_vectors[found] = vectors[found]
                    missing = (~found).nonzero().flatten().tolist()
                order = torch.tensor(sorted(missing, key=lambda i: (-len(unique[i]), i)), dtype=torch.int64)
        except Exception as exc:
            error = exc
        if distributed:
            _raise_if_any_failed(error, rank, group, device, world_size, "the cache lookup on rank 0")
            count = torch.tensor([len(order)], dtype=torch.int64, device=device)
            dist.broadcast(count, src=0, group=group)
            if int(count.item()):
                shipped = (
                    order.to(device) if rank == 0 else torch.empty(int(count.item()), dtype=torch.int64, device=device)
                )
                dist.broadcast(shipped, src=0, group=group)
                order = shipped.cpu()
        elif error is not None:
            raise error
        n_missing = len(order)

        # 3. every rank encodes its strided share, with the encoder's own cache set aside
        share = order[rank::world_size].tolist()
        encode_started = time.perf_counter()
        local = torch.zeros(0, dim, dtype=torch.float32)
        error = None
        try:
            if share:
                with _own_cache_set_aside(encoder):
                    options = _encode_options(
                        encoder, batch_size=batch_size, show_progress=show_progress if rank == 0 else False
                    )
                    local = encoder.encode([unique[i] for i in share], **options)
                local = local.detach().to("cpu", torch.float32)
                if tuple(local.shape) != (len(share), dim):
                    raise ValueError(
                        f"encoder.encode returned shape {tuple(local.shape)}, expected ({len(share)}, {dim})"
                    )
        except Exception as exc:
            error = exc
        encode_seconds = time.perf_counter() - encode_started
        per_rank = [len(range(r, n_missing, world_size)) for r in range(world_size)]

        # 4. gather the shares to rank 0 (padded to the longest share); rank 0 writes the cache once
        if distributed:
            _raise_if_any_failed(error, rank, group, device, world_size, "encoding")
            longest = per_rank[0]
            if longest:
                padded = torch.zeros(longest, dim, dtype=torch.float32)
                padded[: len(share)] = local
                padded = padded.to(device)
                buckets = [torch.empty_like(padded) for _ in range(world_size)] if rank == 0 else None
                dist.gather(padded, gather_list=buckets, dst=0, group=group)
                if rank == 0:
                    for r, bucket in enumerate(buckets):
                        unique_vectors[order[r::world_size]] = bucket[: per_rank[r]].cpu()
        elif error is not None:
            raise error
        elif share:
            unique_vectors[order] = local
        error = None
        try:
            if rank == 0 and cache is not None and n_missing:
                cache.put_many(identity, [unique[i] for i in order.tolist()], unique_vectors[order])
        except Exception as exc:
            error = exc
        if distributed:
            _raise_if_any_failed(error, rank, group, device, world_size, "writing the cache on rank 0")
        elif error is not None:
            raise error
    finally:
        if own_cache and cache is not None:
            cache.close()

    # 5. the full matrix, on every rank (or rank 0 only)
    if distributed and all_ranks:
        shipped = (
            unique_vectors.to(device)
            if rank == 0
            else torch.empty(len(unique), dim, dtype=torch.float32, device=device)
        )
        if len(unique):
            dist.broadcast(shipped, src=0, group=group)
        unique_vectors = shipped.cpu()
    if unique_vectors is None:
        vectors = torch.zeros(0, dim, dtype=torch.float32)
    elif len(unique) == len(texts):
        vectors = unique_vectors
    else:
        index = {t: i for i, t in enumerate(unique)}
        vectors = unique_vectors[[index[t] for t in texts]]
    seconds = time.perf_counter() - started
    if rank == 0:
        logger.debug(
            "encoded %d of %d unique texts on %d rank(s) in %.1f s", n_missing, len(unique), world_size, seconds
        )
    return DistributedEncodeResult(
        vectors=vectors,
        n_texts=len(texts),
        n_unique=len(unique),
        n_cached=len(unique) - n_missing,
        n_encoded=n_missing,
        per_rank=per_rank,
        world_size=world_size,
        rank=rank,
        seconds=seconds,
        encode_seconds=encode_seconds,
        identity=identity,
        cache_dir=str(cache.cache_dir)
        if cache is not None
        else (os.fspath(cache_dir) if cache_dir is not None else None),
    )


def encode_distributed(
    texts: Sequence[str],
    encoder,
    *,
    cache_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    show_progress: bool | None = None,
    all_ranks: bool = True,
    group: dist.ProcessGroup | None = None,
) -> torch.Tensor:
    """Encode ``texts`` split across the ranks of the process group; rank 0 fills the cache.

    The arguments are those of :func:`run_distributed_encode` (see the module
    docstring for the protocol). Without an initialised process group it is
    a plain cached encode in this process.

    Returns:
        ``(n, dim)`` float32 on the CPU, row ``i`` for ``texts[i]`` (unit norm
        for a TextEncoder), on every rank; with ``all_ranks=False`` on rank 0
        only, the other ranks getting ``(0, dim)``.
    """
    return run_distributed_encode(
        texts,
        encoder,
        cache_dir=cache_dir,
        batch_size=batch_size,
        show_progress=show_progress,
        all_ranks=all_ranks,
        group=group,
    ).vectors
