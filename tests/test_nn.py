import importlib
import pkgutil
import sys

import numpy as np
import pytest
import torch

import skgalaxy.nn
from skgalaxy.nn.augment import (
    Augment,
    dihedral,
    dihedral_transforms,
    random_dihedral,
    random_shift,
)
from skgalaxy.nn.blocks import conv_backbone
from skgalaxy.nn.classifier import GalaxyCNN, LogitAdjustedCrossEntropy, load_features
from skgalaxy.nn.functional import with_asymmetry


def test_nn_never_imports_scikit_learn():
    for info in pkgutil.iter_modules(skgalaxy.nn.__path__):
        module = importlib.import_module(f"skgalaxy.nn.{info.name}")
        source = open(module.__file__).read()
        assert "sklearn" not in source, info.name
    assert "skgalaxy.nn" in sys.modules


def test_dihedral_group_has_eight_distinct_elements():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    images = [dihedral(x, k) for k in dihedral_transforms()]
    assert len({tuple(im.flatten().tolist()) for im in images}) == 8
    torch.testing.assert_close(dihedral(dihedral(x, 1), 3), x)
    assert dihedral_transforms(square=False) == [0, 2, 4, 6]
    assert dihedral_transforms(flips=False) == [0, 1, 2, 3]


def test_random_dihedral_transforms_each_image_by_a_group_element():
    torch.manual_seed(0)
    x = torch.rand(32, 2, 5, 5)
    out = random_dihedral(x, [0, 1, 2, 3])
    for original, transformed in zip(x, out):
        candidates = [dihedral(original[None], k)[0] for k in range(4)]
        assert any(torch.equal(transformed, c) for c in candidates)
    assert not torch.equal(out, x)


def test_random_shift_moves_content_within_bounds():
    torch.manual_seed(0)
    x = torch.zeros(50, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    out = random_shift(x, 2)
    assert out.shape == x.shape
    positions = out[:, 0].flatten(1).argmax(1)
    rows, cols = positions // 9, positions % 9
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(positions.tolist())) > 5
    torch.testing.assert_close(out.sum(dim=(1, 2, 3)), torch.ones(50))


def test_augment_is_identity_in_eval_mode():
    aug = Augment(dihedral=True, max_shift=2, noise=0.5).eval()
    x = torch.rand(4, 3, 8, 8)
    assert aug(x) is x
    aug.train()
    assert not torch.equal(aug(x), x)


def test_backbone_halves_the_size_per_block_and_cnn_shapes():
    backbone = conv_backbone(3, (4, 8, 16))
    assert backbone(torch.rand(2, 3, 64, 64)).shape == (2, 16, 8, 8)
    model = GalaxyCNN(3, 5, filters=(4, 8), dense_units=6).eval()
    x = torch.rand(3, 3, 16, 16)
    assert model(x).shape == (3, 5)
    assert model.embed(x).shape == (3, 6)
    assert model(torch.rand(2, 7, 1, 1)[:, :3]).shape == (2, 5)  # 1x1 images pass


def test_pool_maps_means_over_the_whole_image_and_its_central_half():
    from skgalaxy.nn.functional import pool_maps

    maps = torch.zeros(1, 2, 8, 8)
    maps[0, 0, 2:6, 2:6] = 1.0  # the central half: rows and columns 2 to 5
    maps[0, 1, 0, 0] = 64.0  # a corner, outside it
    torch.testing.assert_close(pool_maps(maps), torch.tensor([[0.25, 1.0]]))
    torch.testing.assert_close(
        pool_maps(maps, "centre"), torch.tensor([[0.25, 1.0, 1.0, 0.0]])
    )
    odd = torch.zeros(1, 1, 7, 7)
    odd[0, 0, 1:6, 1:6] = 2.0  # 7 // 4 = 1 row and column cut from each side
    torch.testing.assert_close(pool_maps(odd, "centre"), torch.tensor([[50 / 49, 2.0]]))
    single = torch.full((1, 1, 1, 1), 3.0)
    torch.testing.assert_close(pool_maps(single, "centre"), torch.tensor([[3.0, 3.0]]))


def test_d4_group_table_is_a_group():
    from skgalaxy.nn.equivariant import group_table

    product, inverse = group_table()
    identity = torch.arange(8)
    assert torch.equal(product[0], identity) and torch.equal(product[:, 0], identity)
    for g in range(8):
        assert product[g, inverse[g]] == 0 and product[inverse[g], g] == 0
        assert sorted(product[g].tolist()) == list(range(8))  # a Latin square
    for a in range(8):  # associativity
        for b in range(8):
            for c in range(8):
                assert product[product[a, b], c] == product[a, product[b, c]]


def test_d4_layers_are_equivariant_and_the_embedding_exactly_invariant():
    from skgalaxy.nn.augment import dihedral
    from skgalaxy.nn.equivariant import D4CNN, D4Conv, D4Lift, group_table

    product, inverse = group_table()
    torch.manual_seed(0)
    x = torch.randn(3, 3, 16, 16)
    layers = torch.nn.Sequential(D4Lift(3, 2), D4Conv(2, 3))
    with torch.no_grad():
        maps = layers(x).reshape(3, 3, 8, 16, 16)
        for a in range(8):
            turned = layers(dihedral(x, a)).reshape(3, 3, 8, 16, 16)
            # Turning the image turns the maps and permutes the group axis.
            for g in range(8):
                expected = dihedral(maps[:, :, product[inverse[a], g]], a)
                torch.testing.assert_close(turned[:, :, g], expected, atol=1e-5, rtol=0)
    # 64 px: 8x8 last maps, 56 px: 7x7 (an odd centre region).
    for pooling, size in (("mean", 64), ("centre", 64), ("centre", 56)):
        model = D4CNN(3, 4, filters=(4, 8, 8), pooling=pooling, dense_units=16)
        images = torch.randn(2, 3, size, size)
        with torch.no_grad():
            embedding = model.eval().embed(images)
            for k in range(8):  # no test-time augmentation anywhere
                torch.testing.assert_close(
                    model.embed(dihedral(images, k)), embedding, atol=1e-5, rtol=0
                )
    plain = GalaxyCNN(3, 4, augment=False).eval()
    with torch.no_grad():
        assert not torch.allclose(
            plain.embed(dihedral(images, 1)), plain.embed(images), atol=1e-3
        )


def test_networks_pickle_without_references_to_other_libraries():
    """torch.channels_last pickles by a name another module can shadow."""
    import pickle

    pytest.importorskip("sklearn.externals.array_api_compat.torch")
    from skgalaxy.nn.equivariant import D4CNN

    for module in (GalaxyCNN(3, 2), D4CNN(3, 2, filters=(2, 4))):
        blob = pickle.dumps(module)
        assert b"array_api_compat" not in blob
        assert type(pickle.loads(blob)) is type(module)


def test_logit_adjusted_loss_shifts_the_logits_by_the_scaled_log_prior():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    target = torch.tensor([1, 2])
    log_prior = torch.tensor([0.7, 0.2, 0.1]).log()
    loss = LogitAdjustedCrossEntropy(log_prior, tau=0.5)
    expected = torch.nn.functional.cross_entropy(logits + 0.5 * log_prior, target)
    torch.testing.assert_close(loss(logits, target), expected)
    plain = torch.nn.functional.cross_entropy(logits, target)
    assert not torch.isclose(loss(logits, target), plain)


def test_logit_adjusted_smoothing_goes_towards_the_adjusted_prior():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    target = np.array([1, 2])
    prior = np.array([0.7, 0.2, 0.1])
    shifted = logits + 0.5 * np.log(prior)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    towards = np.sqrt(prior) / np.sqrt(prior).sum()
    expected = np.mean(
        0.9 * -log_p[[0, 1], target] + 0.1 * -(log_p * towards).sum(axis=1)
    )
    loss = LogitAdjustedCrossEntropy(np.log(prior), tau=0.5, label_smoothing=0.1)
    as_tensors = torch.tensor(logits, dtype=torch.float32), torch.tensor(target)
    np.testing.assert_allclose(loss(*as_tensors).item(), expected, rtol=1e-5)
    # Without adjustment it is torch's uniform smoothing.
    untilted = LogitAdjustedCrossEntropy(np.log(prior), tau=0.0, label_smoothing=0.1)
    torch.testing.assert_close(
        untilted(*as_tensors),
        torch.nn.functional.cross_entropy(*as_tensors, label_smoothing=0.1),
    )


def test_asymmetry_channels_are_the_image_minus_its_half_turn():
    x = torch.rand(2, 3, 5, 5)
    out = with_asymmetry(x).numpy()
    assert out.shape == (2, 6, 5, 5)
    np.testing.assert_array_equal(out[:, :3], x.numpy())
    half_turn = np.rot90(x.numpy(), 2, axes=(2, 3))
    np.testing.assert_allclose(out[:, 3:], x.numpy() - half_turn, atol=1e-7)
    # A point-symmetric image has no asymmetry; a lone off-centre pixel does.
    symmetric = torch.zeros(1, 1, 5, 5)
    symmetric[0, 0, 1, 1] = symmetric[0, 0, 3, 3] = 1.0
    assert with_asymmetry(symmetric)[:, 1].abs().max() == 0
    lopsided = torch.zeros(1, 1, 5, 5)
    lopsided[0, 0, 1, 1] = 1.0
    assert with_asymmetry(lopsided)[0, 1, 3, 3] == -1.0


def test_asymmetry_channels_follow_every_dihedral_transform():
    x = torch.rand(2, 3, 6, 6)
    for k in dihedral_transforms():
        torch.testing.assert_close(
            with_asymmetry(dihedral(x, k)), dihedral(with_asymmetry(x), k)
        )


def test_a_network_with_asymmetry_starts_as_the_encoder_it_loads():
    encoder = conv_backbone(3, (4, 8)).eval()
    net = GalaxyCNN(n_classes=2, filters=(4, 8), asymmetry=True).eval()
    assert net.features[0][0].weight.shape[1] == 6
    load_features(net.features, encoder.state_dict())
    weight = net.features[0][0].weight.detach()
    assert (weight[:, 3:] == 0).all()
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(net.features(with_asymmetry(x)), encoder(x))
    with pytest.raises(RuntimeError):  # other filters still do not fit
        load_features(net.features, conv_backbone(3, (4, 16)).state_dict())
