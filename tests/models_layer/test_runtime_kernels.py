"""Contract test of models_layer/runtime/kernels.py, the one door to torch's private CPU matmul
kernels: each kind still multiplies as a float32 matmul does. A failure here means torch moved or
changed one of them: mend kernels.py (written for torch 2.13), nothing else."""

import pytest
import torch

from models_layer.runtime import kernels

# Relative error of each kind against float32 (seen on AVX2: int4 0.078, int8 0.008).
KINDS = {"int4": (kernels.Int4Linear, 0.12), "int8": (kernels.Int8Linear, 0.02)}


@pytest.mark.parametrize("rows", [1, 16])
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kernel_multiplies_like_float32(kind, rows):
    # Given a weight matrix and some activation rows
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(256, 128, generator=generator) * 0.05
    x = torch.randn(rows, 128, generator=generator)
    linear_kind, tolerance = KINDS[kind]
    # When the kernel multiplies them
    try:
        got = linear_kind(weight)(x)
    except (RuntimeError, NotImplementedError, AttributeError) as error:
        pytest.fail(f"models_layer/runtime/kernels.py: torch {torch.__version__} no longer runs {kind}: {error}")
    # Then the product is the float32 one within the kind's rounding
    expected = x @ weight.T
    assert got.shape == expected.shape and got.dtype == torch.float32
    error = ((got - expected).norm() / expected.norm()).item()
    assert error < tolerance, (
        f"models_layer/runtime/kernels.py: {kind} is off by {error:.3f} (torch {torch.__version__})"
    )


def test_the_fastest_kind_is_one_of_the_choices():
    # Given a layer's matrix shapes; when the kinds are timed; then one of them is chosen
    choice = kernels.fastest_quantize(((192, 64), (64, 64), (256, 64), (64, 128)))
    assert choice in {"int4", "none"}
