"""WAE: the MMD penalty with one or several kernel scales, and the model's check of its scales."""

from __future__ import annotations

import pytest
import torch

from genzoo.errors import GenzooError
from genzoo.losses import mmd
from genzoo.models.wae import WAE


def test_multi_scale_mmd_matches_a_hand_computed_value() -> None:
    # a = {0, 1}, b = {0, 2} on a line; kernels C / (C + d^2) for C = 1 and 2, summed.
    # within a (d^2 = 1): 1/2 + 2/3 = 7/6; within b (d^2 = 4): 1/5 + 1/3 = 8/15;
    # across (d^2 = 0, 4, 1, 1): (2 + 8/15 + 7/6 + 7/6) / 4 = 73/60.
    # MMD^2 = 7/6 + 8/15 - 2 * 73/60 = -11/15 (the unbiased estimate may be negative).
    a, b = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0], [2.0]])
    assert mmd(a, b, scale=[1.0, 2.0]).item() == pytest.approx(-11 / 15)
    assert mmd(a, b, scale=[1.0, 2.0]).item() == pytest.approx((mmd(a, b, 1.0) + mmd(a, b, 2.0)).item())


def test_one_scale_given_as_a_number_or_a_list_is_the_same_kernel() -> None:
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 8, generator=generator), torch.randn(16, 8, generator=generator) + 0.5
    assert torch.equal(mmd(a, b, 16.0), mmd(a, b, [16.0]))
    assert mmd(a, b, 16.0) > 0  # shifted samples: the discrepancy is clearly positive


def test_wae_kernel_scales_follow_the_latent_size() -> None:
    model = WAE(latent_dim=4, hidden_dims=[16], mmd_scales=(0.5, 1.0, 2.0))
    assert model.kernel_scales == [4.0, 8.0, 16.0]  # multiples of 2 * latent_dim


@pytest.mark.parametrize("scales", [(), (1.0, 0.0), (-1.0,)])
def test_wae_refuses_empty_or_non_positive_scales(scales: tuple[float, ...]) -> None:
    with pytest.raises(GenzooError, match="mmd_scales"):
        WAE(latent_dim=4, hidden_dims=[16], mmd_scales=scales)
