"""PretrainedEncoder: timm architectures and torch modules with local weights."""

import numpy as np
import pytest
import torch
from conftest import small_galaxies
from safetensors.torch import save_file
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from torch.nn import functional as F

from skgalaxy import AHUNTDetector, GalaxyCNNClassifier
from skgalaxy.io import load_model, save_model
from skgalaxy.representation import PretrainedEncoder


def _timm():
    """timm, where it imports: it needs a torchvision built for this torch."""
    try:
        import timm
    except Exception as exc:  # a mismatched torchvision raises RuntimeError
        pytest.skip(f"timm does not import here: {exc}")
    return timm


def _conv(seed=0, in_chans=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(in_chans, 4, 3), torch.nn.ReLU())


def _zoobot_input(images, side):
    """What Zoobot feeds an encoder: NCHW in [0, 1], resized, not normalised."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return F.interpolate(x, size=(side, side), mode="bilinear", antialias=True)


@pytest.fixture(scope="module")
def galaxies():
    return small_galaxies(40, size=16)


def test_a_module_gives_its_pooled_features_of_zoobot_style_input(galaxies):
    X, _ = galaxies
    net = _conv()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    features = PretrainedEncoder(net, image_size=24).fit(X).transform(X)
    for name, value in net.state_dict().items():  # fit copies the module
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)
    with torch.no_grad():
        expected = net(_zoobot_input(X, 24)).mean(dim=(2, 3)).numpy()
    assert features.shape == (40, 4) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)


def test_weights_come_from_safetensors_or_a_lightning_checkpoint(galaxies, tmp_path):
    X, _ = galaxies
    source, target = _conv(seed=1), _conv(seed=2)
    save_file(source.state_dict(), tmp_path / "encoder.safetensors")
    zoobot_style = {f"encoder.{k}": v for k, v in source.state_dict().items()}
    torch.save(
        {"state_dict": {**zoobot_style, "head.weight": torch.ones(2)}},
        tmp_path / "run.ckpt",
    )
    expected = PretrainedEncoder(source, image_size=16).fit(X).transform(X)
    for weights in ("encoder.safetensors", "run.ckpt"):
        encoder = PretrainedEncoder(target, weights=tmp_path / weights, image_size=16)
        np.testing.assert_allclose(encoder.fit(X).transform(X), expected, rtol=1e-6)
    untouched = PretrainedEncoder(target, image_size=16).fit(X).transform(X)
    assert not np.allclose(untouched, expected)


def test_weights_of_another_network_or_file_are_clear_errors(galaxies, tmp_path):
    X, _ = galaxies
    save_file({"other.weight": torch.ones(3)}, tmp_path / "other.safetensors")
    save_file(_conv(in_chans=1).state_dict(), tmp_path / "grey.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    torch.save({"state_dict": {"0.weight": [1, 2]}}, tmp_path / "lists.pt")
    (tmp_path / "w.onnx").write_bytes(b"")
    cases = {
        "other.safetensors": "lack 2 of the encoder's 2 tensors",
        "grey.safetensors": r"shape \(4, 1, 3, 3\).*another in_chans",
        "junk.safetensors": "Cannot read",
        "lists.pt": "no state dict of tensors",
        "w.onnx": "safetensors or a torch checkpoint",
    }
    for name, match in cases.items():
        with pytest.raises(ValueError, match=match):
            PretrainedEncoder(_conv(), weights=tmp_path / name, image_size=16).fit(X)
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        PretrainedEncoder(_conv(), weights=tmp_path / "absent.safetensors").fit(X)


def test_a_greyscale_encoder_sees_colour_images_averaged(galaxies):
    X, _ = galaxies
    grey = _conv(in_chans=1)
    features = PretrainedEncoder(grey, in_chans=1, image_size=16).fit(X).transform(X)
    with torch.no_grad():
        x = _zoobot_input(X, 16).mean(dim=1, keepdim=True)
        np.testing.assert_allclose(
            features, grey(x).mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6
        )


def test_features_feed_a_linear_probe_and_ahunt(galaxies):
    X, y = galaxies
    probe = make_pipeline(
        PretrainedEncoder(_conv(), image_size=16), LogisticRegression(max_iter=500)
    )
    assert probe.fit(X, y).predict(X).shape == (40,)
    features = PretrainedEncoder(_conv(), image_size=16).fit_transform(X)
    labels = np.full(40, None, dtype=object)
    labels[:10] = y[:10]
    hunter = AHUNTDetector(max_epochs=2, random_state=0).fit(features, labels)
    assert hunter.score_samples(features).shape == (40,)


def test_a_module_encoder_is_not_saved_with_code(galaxies, tmp_path):
    X, _ = galaxies
    encoder = PretrainedEncoder(_conv(), image_size=16).fit(X)
    with pytest.raises(TypeError, match="cannot be saved in a safe model file"):
        save_model(encoder, tmp_path / "m.skgalaxy")
    assert not (tmp_path / "m.skgalaxy").exists()


def test_a_timm_name_without_timm_or_weights_says_what_to_do(galaxies, monkeypatch):
    X, _ = galaxies
    monkeypatch.setitem(__import__("sys").modules, "timm", None)
    with pytest.raises(ImportError, match=r"skgalaxy\[pretrained\]"):
        PretrainedEncoder("convnext_nano").fit(X)


def test_the_classifier_fine_tunes_from_the_encoder_weights(galaxies, tmp_path):
    X, y = galaxies
    source = _conv(seed=3)
    save_file(source.state_dict(), tmp_path / "encoder.safetensors")
    user_module = _conv(seed=4)
    before = {k: v.clone() for k, v in user_module.state_dict().items()}
    encoder = PretrainedEncoder(
        user_module, weights=tmp_path / "encoder.safetensors", image_size=16
    )
    clf = GalaxyCNNClassifier(
        encoder=encoder, max_epochs=1, lr=1e-9, weight_decay=0, random_state=0
    ).fit(X, y)
    trained = clf.net_.module_.backbone.encoder.state_dict()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(trained[name], value, rtol=1e-5, atol=1e-6)
    moved = GalaxyCNNClassifier(
        encoder=encoder, max_epochs=3, lr=1e-2, random_state=0
    ).fit(X, y)
    weight = moved.net_.module_.backbone.encoder.state_dict()["0.weight"]
    assert not torch.allclose(weight, source.state_dict()["0.weight"])
    assert moved.predict_proba(X).shape == (40, len(np.unique(y)))
    for name, value in user_module.state_dict().items():  # trained on a copy
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)


# timm's own models: where timm imports (it needs a matching torchvision).


def test_timm_features_match_timms_own_forward_and_survive_a_model_file(
    galaxies, tmp_path
):
    timm = _timm()
    X, _ = galaxies
    torch.manual_seed(5)
    reference = timm.create_model("test_convnext", num_classes=0).eval()
    save_file(reference.state_dict(), tmp_path / "model.safetensors")
    encoder = PretrainedEncoder(
        "test_convnext", weights=tmp_path / "model.safetensors", image_size=32
    ).fit(X)
    with torch.no_grad():
        expected = reference(_zoobot_input(X, 32)).numpy()
    features = encoder.transform(X)
    assert features.shape == (40, reference.num_features)
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    save_model(encoder, tmp_path / "encoder.skgalaxy")
    (tmp_path / "model.safetensors").unlink()  # the model file holds the weights
    loaded = load_model(tmp_path / "encoder.skgalaxy")
    np.testing.assert_allclose(loaded.transform(X), features, rtol=1e-5, atol=1e-6)


def test_a_timm_encoder_fine_tuned_by_the_classifier_saves_and_loads(
    galaxies, tmp_path
):
    timm = _timm()
    X, y = galaxies
    torch.manual_seed(6)
    reference = timm.create_model("test_resnet", num_classes=0)
    save_file(reference.state_dict(), tmp_path / "resnet.safetensors")
    encoder = PretrainedEncoder(
        "test_resnet", weights=tmp_path / "resnet.safetensors", image_size=32
    )
    clf = GalaxyCNNClassifier(encoder=encoder, max_epochs=2, random_state=0)
    proba = clf.fit(X, y).predict_proba(X)
    save_model(clf, tmp_path / "clf.skgalaxy")
    loaded = load_model(tmp_path / "clf.skgalaxy")
    np.testing.assert_allclose(loaded.predict_proba(X), proba, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="timm has no architecture 'no_such_net'"):
        PretrainedEncoder("no_such_net").fit(X)
