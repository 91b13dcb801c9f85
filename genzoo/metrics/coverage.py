"""Mode coverage on labelled data: which classes does the model generate, and how clearly?

A domain classifier labels every generated sample. The class histogram shows dropped or favoured
modes; its entropy divided by log(K) (``entropy``) is 1.0 when all K classes appear equally often and
0.0 when the model produces a single class (mode collapse). ``mean_confidence`` (the mean top-class
probability) falls when samples are ambiguous blends of classes. The same numbers for the real
reference images are reported beside them as the ceiling to compare with. For conditional models,
``label_accuracy`` says how often the sample shows the class it was asked for.
"""

from __future__ import annotations

import math

import torch


def class_histogram_stats(logits: torch.Tensor) -> dict[str, object]:
    """Histogram (fractions per class), normalised entropy and mean confidence of classifier logits (N, K)."""
    num_classes = logits.shape[1]
    probs = logits.float().softmax(dim=1)
    counts = torch.bincount(probs.argmax(dim=1), minlength=num_classes).double()
    freq = counts / counts.sum()
    nonzero = freq[freq > 0]
    entropy = max(0.0, -(nonzero * nonzero.log()).sum().item() / math.log(num_classes))  # no "-0.0"
    return {
        "histogram": [round(f, 4) for f in freq.tolist()],
        "entropy": entropy,
        "mean_confidence": probs.max(dim=1).values.mean().item(),
    }


def mode_coverage(
    fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None, requested: torch.Tensor | None = None
) -> dict[str, object]:
    """Coverage of generated samples; ``real_logits`` adds the reference's numbers, ``requested`` the
    labels a conditional model was asked for (adds ``label_accuracy``)."""
    result = class_histogram_stats(fake_logits)
    if real_logits is not None:
        real = class_histogram_stats(real_logits)
        result["reference_entropy"] = real["entropy"]
        result["reference_mean_confidence"] = real["mean_confidence"]
    if requested is not None:
        result["label_accuracy"] = (fake_logits.argmax(dim=1) == requested).float().mean().item()
    return result
