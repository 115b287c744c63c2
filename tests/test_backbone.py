"""The offline backbone really carries ImageNet weights."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from indoor.model.backbones import DEFAULT_BACKBONE, BackboneError, create_backbone, fast_inference, imagenet_top5


@pytest.fixture(scope="module")
def backbone():
    return create_backbone("efficientnet_lite0", image_size=224)


def _photo(name: str) -> Image.Image:
    from sklearn.datasets import load_sample_image

    return Image.fromarray(load_sample_image(name))


def test_real_photo_gets_a_sensible_imagenet_top5(backbone):
    # scikit-learn ships a photo of a Chinese temple: ImageNet's palace / temple-like classes must lead
    top5 = [name for name, _ in imagenet_top5(backbone, _photo("china.jpg"))]
    buildings = {"palace", "bell cote, bell cot", "monastery", "church, church building", "castle", "dome",
                 "stupa, tope", "pagoda"}
    assert top5[0] in buildings, top5
    assert len(buildings.intersection(top5)) >= 2, top5


def test_random_weights_would_not_pass(backbone):
    # guard against a silent fallback to random init: the loaded weights differ from a fresh model's
    fresh = create_backbone("efficientnet_lite0", image_size=224, pretrained=False)
    loaded_stem = backbone.embedder.model.conv_stem.weight
    assert not torch.allclose(loaded_stem, fresh.embedder.model.conv_stem.weight)
    assert "offline" in backbone.weights


def test_embedding_shape_and_determinism(backbone):
    batch = torch.stack([backbone.preprocess(_photo("flower.jpg")), backbone.preprocess(_photo("china.jpg"))])
    with torch.inference_mode():
        first, second = backbone.embedder(batch), backbone.embedder(batch)
    assert first.shape == (2, backbone.embedding_dim) == (2, 1280)
    assert torch.equal(first, second)


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(BackboneError, match="no_such_model"):
        create_backbone("no_such_model", pretrained=False)


def test_fast_inference_gives_the_eager_embeddings_for_any_batch_size(backbone):
    photos = [backbone.preprocess(_photo(name)) for name in ("flower.jpg", "china.jpg")]
    example = torch.stack(photos * 4)  # traced on a batch of 8
    fast = fast_inference(backbone.embedder, example)
    assert fast is not backbone.embedder  # the optimised copy, not the fallback
    for batch in (example, example[:3], example[:1]):
        with torch.inference_mode():
            eager, optimised = backbone.embedder(batch), fast(batch)
        assert optimised.shape == eager.shape
        assert torch.allclose(optimised, eager, rtol=1e-3, atol=1e-4), float((optimised - eager).abs().max())


def test_fast_inference_falls_back_to_the_module_when_it_cannot_trace_or_disagrees():
    class Untraceable(torch.nn.Module):  # a non-tensor output: torch.jit.trace refuses it
        def forward(self, images):
            return {"mean": images.mean(), "note": "not a tensor"}

    untraceable = Untraceable().eval()
    assert fast_inference(untraceable, torch.randn(2, 3, 8, 8)) is untraceable
    random_output = torch.nn.Dropout(0.5).train()  # differs from call to call: the check on the example fails
    assert fast_inference(random_output, torch.ones(4, 3, 8, 8)) is random_output
    linear = torch.nn.Linear(4, 2).eval()
    assert fast_inference(linear, torch.randn(2, 4, device="meta")) is linear  # only the CPU is optimised


def test_list_backbones_names_what_create_backbone_accepts(capsys):
    from indoor.cli import main
    from indoor.model.backbones import list_backbones

    assert [e["name"] for e in list_backbones()] == [DEFAULT_BACKBONE]
    matching = list_backbones("resnet18")
    assert {"resnet18", "tv:resnet18"} <= {e["name"] for e in matching}
    assert [e["offline"] for e in matching] == [True] + [False] * (len(matching) - 1)
    for name in ("resnet18", "timm:resnet18", "tv:resnet18"):
        assert create_backbone(name, image_size=64, pretrained=False).embedding_dim == 512
    assert main(["backbones", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet_lite0  offline" in out and "tv:resnet18" in out
