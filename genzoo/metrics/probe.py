"""Representation quality: how much of the label can a linear classifier read off the encoder's codes?

A linear probe (logistic regression) is fitted on the codes ``encode(x)`` of the training split and
scored on the codes of the test split. Codes are standardised with the training split's mean and std;
the probe is fitted full-batch with L-BFGS and a small L2 penalty, from zeros, so the result depends
only on the codes (no seed, no learning rate to tune). Integer labels (N,) give multinomial logistic
regression and top-1 accuracy; multi-hot labels (N, A) (face attributes) give one binary probe per
attribute and their mean accuracy, over the annotated entries only (-1 marks an unannotated one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

L2_PENALTY = 1e-4
MAX_ITERATIONS = 200


def fit_linear_probe(codes: torch.Tensor, labels: torch.Tensor, num_outputs: int, multilabel: bool) -> torch.nn.Linear:
    """Logistic regression on standardised codes (N, D); returns the fitted linear layer."""
    probe = torch.nn.Linear(codes.shape[1], num_outputs, dtype=codes.dtype)
    torch.nn.init.zeros_(probe.weight)
    torch.nn.init.zeros_(probe.bias)
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=MAX_ITERATIONS, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = probe(codes)
        if multilabel:  # -1 marks an unannotated attribute: it takes no part in the loss
            known = (labels >= 0).to(logits.dtype)
            loss = F.binary_cross_entropy_with_logits(logits, labels.clamp_min(0).to(logits.dtype), weight=known)
        else:
            loss = F.cross_entropy(logits, labels)
        loss = loss + L2_PENALTY * probe.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe


def probe_accuracy(probe: torch.nn.Linear, codes: torch.Tensor, labels: torch.Tensor, multilabel: bool) -> float:
    with torch.no_grad():
        logits = probe(codes)
    if multilabel:
        known = labels >= 0
        return ((logits > 0) == (labels > 0))[known].float().mean().item()
    return (logits.argmax(dim=1) == labels).float().mean().item()


def linear_probe(
    train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor, test_labels: torch.Tensor
) -> dict[str, float]:
    """Fit on (train_codes, train_labels), report accuracy on the test codes (and on the training codes)."""
    multilabel = train_labels.dim() == 2
    if not multilabel:  # drop unlabelled images (-1)
        train_codes, train_labels = train_codes[train_labels >= 0], train_labels[train_labels >= 0]
        test_codes, test_labels = test_codes[test_labels >= 0], test_labels[test_labels >= 0]
    num_outputs = train_labels.shape[1] if multilabel else int(train_labels.max().item()) + 1
    mean, std = train_codes.mean(0), train_codes.std(0).clamp_min(1e-6)
    train = ((train_codes - mean) / std).double()  # double: L-BFGS line searches are fussy in float32
    test = ((test_codes - mean) / std).double()
    probe = fit_linear_probe(train, train_labels, num_outputs, multilabel)
    return {
        "accuracy": probe_accuracy(probe, test, test_labels, multilabel),
        "train_accuracy": probe_accuracy(probe, train, train_labels, multilabel),
        "code_dim": train_codes.shape[1],
        "num_train": len(train_codes),
        "num_test": len(test_codes),
    }
