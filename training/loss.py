"""Per-token loss normalised by the global number of loss tokens.

The paper averages the loss over the loss tokens of the whole global batch, on all devices, so
that a short answer does not weigh more than a long one and results do not depend on the number
of devices or on gradient accumulation (seed 000, implementation). Each micro-batch contributes
``sum of its token losses / N_global``, where ``N_global`` is the loss-token count of the whole
optimizer step (all micro-batches, all ranks, all-reduced once). Data-parallel gradient averaging
divides by the world size, so the micro-batch loss is multiplied by it to make the sum exact.

    >>> n_global, _ = step_token_counts([mb["labels"] for mb in micro_batches])
    >>> for mb in micro_batches:
    ...     (token_loss_sum(model(**inputs).logits, mb["labels"]) * world_size / n_global).backward()
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist
import torch.nn.functional as F

IGNORE_INDEX = -100


def _next_token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, reduction: str) -> torch.Tensor:
    """Cross-entropies of each position's next token (labels aligned with inputs, shifted here; -100 ignored)."""
    return F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten().to(logits.device),
        ignore_index=IGNORE_INDEX, reduction=reduction,
    )


def token_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum of next-token cross-entropies (labels aligned with inputs, shifted here; -100 ignored)."""
    return _next_token_cross_entropy(logits, labels, "sum")


def loss_tokens_per_row(labels: torch.Tensor) -> torch.Tensor:
    """Each row's loss tokens (labels shift by one: the first position never has a loss)."""
    return (labels[:, 1:] != IGNORE_INDEX).sum(dim=1)


def loss_token_count(labels: torch.Tensor) -> int:
    return int(loss_tokens_per_row(labels).sum())


def row_loss_sums(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each row's sum of next-token cross-entropies, float32 [rows]."""
    return _next_token_cross_entropy(logits, labels, "none").view(labels.shape[0], -1).sum(dim=1)


def weighted_token_loss_sum(logits: torch.Tensor, labels: torch.Tensor, row_weights: torch.Tensor) -> torch.Tensor:
    """:func:`token_loss_sum` with each row's token losses counted ``row_weights[row]`` times (a
    dataset's ``loss_weight``); divide by the weighted count of :func:`step_token_counts`."""
    row_sums = row_loss_sums(logits, labels)
    return (row_sums * row_weights.to(row_sums.device, torch.float32)).sum()


class SourceLoss:
    """Each dataset's loss per token over one optimizer step, for the metrics log: which sources of a
    mixture are being learnt, which the step's mean hides (a source of short answers is a few
    percent of the loss tokens). Unweighted by ``loss_weight``; summed over micro-batches and ranks.

        >>> meter = SourceLoss(["gui", "letters"])
        >>> meter.add(logits, batch["labels"], batch["dataset_index"])   # each micro-batch
        >>> meter.step_means()          # {"gui": [loss per token, loss tokens], ...}, sources seen
    """

    def __init__(self, names: list[str], device: torch.device | str = "cpu") -> None:
        self.names = list(names)
        self._sums = torch.zeros(2, len(self.names), dtype=torch.float64, device=device)

    @torch.no_grad()
    def add(self, logits: torch.Tensor, labels: torch.Tensor, dataset_index: torch.Tensor) -> None:
        """Adds one micro-batch's rows to their datasets (its own cross-entropy, without gradient:
        the training loss's reduction stays as it was, so runs stay bit for bit)."""
        # checked where the batch made it (the CPU), so a GPU run does not wait on the check
        if bool((dataset_index < 0).any()) or bool((dataset_index >= len(self.names)).any()):
            raise ValueError(f"dataset_index {dataset_index.tolist()} outside the {len(self.names)} datasets")
        index = dataset_index.to(self._sums.device)
        labels = labels.to(logits.device)
        self._sums[0].index_add_(0, index, row_loss_sums(logits.detach(), labels).double().to(index.device))
        self._sums[1].index_add_(0, index, loss_tokens_per_row(labels).double().to(index.device))

    def step_means(self) -> dict[str, list[float]]:
        """``{name: [loss per token, loss tokens]}`` of the datasets with loss tokens this step, over
        all ranks (one all-reduce); then starts the next step from zero."""
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self._sums)
        losses, tokens = self._sums.tolist()
        self._sums.zero_()
        return {name: [loss / count, int(count)] for name, loss, count in zip(self.names, losses, tokens) if count}


def step_token_counts(labels: Iterable[torch.Tensor], row_weights: Iterable[torch.Tensor] | None = None,
                      device: torch.device | str = "cpu") -> tuple[int, float]:
    """Loss tokens of this rank's micro-batches, and the same with each row's counted
    ``row_weights[row]`` times (the divisor of :func:`weighted_token_loss_sum`), both summed over
    all ranks in one all-reduce. Without weights the second equals the first."""
    per_row = [loss_tokens_per_row(x).double() for x in labels]
    plain = sum(float(n.sum()) for n in per_row)
    weighted = plain if row_weights is None else sum(float((n * w.double()).sum()) for n, w in zip(per_row, row_weights))
    total = torch.tensor([plain, weighted], dtype=torch.float64, device=device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(total)
    return int(total[0].item()), float(total[1].item())
