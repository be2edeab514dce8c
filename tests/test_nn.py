"""Network building blocks (rlinfo/nn.py): the weight initialisations of the ``init`` key."""

from __future__ import annotations

import pytest
import torch

from rlinfo.nn import ensemble_mlp, initialize, mlp, spectral_mlp


def test_garage_mlp_and_spectral_mlp_draw_xavier_uniform_weights_and_zero_biases():
    torch.manual_seed(0)
    for net in (mlp(30, 4, 200, 2, init="garage"), spectral_mlp(30, 4, 200, 2, init="garage")):
        for layer in (m for m in net.modules() if isinstance(m, torch.nn.Linear)):
            spectral = torch.nn.utils.parametrize.is_parametrized(layer, "weight")
            weight = layer.parametrizations.weight.original if spectral else layer.weight
            bound = (6.0 / sum(weight.shape)) ** 0.5
            assert 0.98 * bound < weight.abs().max() <= bound and not layer.bias.any()


def test_initialize_redraws_the_stored_weight_of_a_spectrally_normalised_layer():
    """The normalised weight is computed; the stored one (``original``) is what gets redrawn."""
    torch.manual_seed(0)
    net = spectral_mlp(20, 3, 500, 1)
    initialize(net, "xavier_normal")
    first = net[0].parametrizations.weight.original
    assert first.std().item() == pytest.approx((2.0 / 520) ** 0.5, rel=0.05)
    assert not net[0].bias.any()


def test_initialize_draws_each_ensemble_member_and_the_last_layer_by_its_own_rule():
    torch.manual_seed(0)
    net = initialize(ensemble_mlp(3, 40, 8, 400, 1), "xavier_uniform", output="xavier_normal_0.1")
    hidden, last = net[0], net[-1]
    for member in hidden.weight:  # [in, out] per member: bound √(6 / (in + out))
        assert member.abs().max() <= (6.0 / 440) ** 0.5
    for member in last.weight:
        assert member.std().item() == pytest.approx(0.1 * (2.0 / 408) ** 0.5, rel=0.1)
    with pytest.raises(ValueError, match="^initialize: weights must be one of xavier_uniform, "):
        initialize(net, "kaiming")


def test_an_unknown_init_is_a_one_line_error():
    message = r"^mlp: init must be one of torch, garage \(garage: .*\), got 'Garage'$"
    with pytest.raises(ValueError, match=message):
        mlp(3, 2, init="Garage")
