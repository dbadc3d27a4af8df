"""The one door to torch's private and deprecated CPU matmul kernels (written for torch 2.13).

A decode step at batch 1 is bound by how fast each weight matrix is multiplied by one row, so the
slot decoder's linear layers come in kinds, all with the same call, `linear(x) -> x @ weight.T`:
- `Int4Linear`: 4-bit weights in groups of 32 (GGUF's Q4_1), bfloat16 activations
  (`torch._weight_int4pack_mm_for_cpu`): fast where the CPU has AVX-512 BF16;
- `Int8Linear`: 8-bit weights, a scale per row, bfloat16 activations (`torch._weight_int8pack_mm`);
- `DenseLinear`: float32 (or bfloat16 on a GPU), `F.linear`.
`fastest_quantize` times them on layers of the model's shapes and picks the faster, once per shape.

Tried and left out: fbgemm's dynamic int8 linear (`torch.ops.quantized.linear_dynamic`) multiplies
Qwen2.5-0.5B-sized matrices 1.7 to 3.7 times faster than the 4-bit kernel on this project's AVX2
EPYC (1 to 16 rows), but it quantizes the activations with one scale per tensor, and a trained
model's outlier features ruin that: SmolLM2's logits came out at cosine 0.19 to float32's.
tests/models_layer/test_runtime_kernels.py checks each against a float32 product, and fails naming
this module when torch moves these kernels.
"""

import functools
import logging
import time

import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

QUANTIZE_CHOICES = ("auto", "int4", "int8", "none")


class Int8Linear:
    """Weight-only int8 with a scale per output row: y = (x @ w_int8.T) * scale. The activations go in
    as bfloat16: torch's CPU kernel for bfloat16 activations is vectorised (AVX-512) and about six
    times faster than its float32 one, which is slower than a float32 matmul."""

    def __init__(self, weight: torch.Tensor):
        weight = weight.float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        self.weight = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        self.scale = scale.to(torch.bfloat16).contiguous()
        self.bytes = self.weight.numel() + self.scale.numel() * 2

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int8pack_mm(x.to(torch.bfloat16), self.weight, self.scale).to(x.dtype)


class Int4Linear:
    """4-bit weights in groups of 32 inputs, each group with its own scale and minimum (GGUF's Q4_1,
    so SmolLM2's de-quantized weights quantize back to nearly the file's own values): torch's CPU
    kernel for them (bfloat16 activations) reads half the bytes of the int8 one."""

    GROUP = 32

    def __init__(self, weight: torch.Tensor):
        rows, columns = weight.shape
        groups = weight.float().view(rows, columns // self.GROUP, self.GROUP)
        low, high = groups.amin(-1, keepdim=True), groups.amax(-1, keepdim=True)
        scale = ((high - low) / 15).clamp(min=1e-8)
        levels = torch.round((groups - low) / scale).clamp(0, 15).to(torch.int32).view(rows, columns)
        self.weight = torch._convert_weight_to_int4pack_for_cpu(levels, 2)
        # The kernel computes (level - 8) * scale + zero.
        self.scales = torch.cat([scale, low + 8 * scale], dim=-1).transpose(0, 1).contiguous().to(torch.bfloat16)
        self.bytes = self.weight.numel() * self.weight.element_size() + self.scales.numel() * 2

    @classmethod
    def fits(cls, weight: torch.Tensor) -> bool:
        return weight.dim() == 2 and weight.shape[1] % cls.GROUP == 0 and weight.shape[0] % 16 == 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int4pack_mm_for_cpu(x.to(torch.bfloat16), self.weight, self.GROUP, self.scales).to(x.dtype)


class DenseLinear:
    def __init__(self, weight: torch.Tensor, dtype: torch.dtype):
        self.weight = weight.to(dtype).contiguous()
        self.bytes = self.weight.numel() * self.weight.element_size()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


class Biased:
    """A linear kind plus a bias (Qwen2's q/k/v, Llama's optional attention and MLP biases)."""

    def __init__(self, linear, bias: torch.Tensor):
        self.linear = linear
        self.bias = bias
        self.bytes = linear.bytes + bias.numel() * bias.element_size()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).add_(self.bias)


# fastest_quantize times a cycle of this many parameters' worth of matrices, so that they do not all
# sit in the CPU's caches, as a model's layers do not: a kernel that computes fast on cached weights
# may read slowly from memory.
TIMED_PARAMETERS = 32 * 1024 * 1024


@functools.cache
def fastest_quantize(layer_shapes: tuple[tuple[int, int], ...]) -> str:
    """ "int4" or "none": whichever takes one decode row through layers of these matrix shapes (a
    layer's (rows, columns), in the order it multiplies them) faster on this CPU, timed here (a second
    or so, once per model shape): it depends on the instruction set (AVX-512 BF16 makes the 4-bit
    kernel fast) and on the sizes."""
    per_layer = sum(rows * columns for rows, columns in layer_shapes)
    layers = max(1, min(32, TIMED_PARAMETERS // per_layer))
    weights = [torch.randn(rows, columns) * 0.02 for _ in range(layers) for rows, columns in layer_shapes]
    inputs = {columns: torch.randn(1, columns) for _, columns in layer_shapes}
    candidates = {"none": [DenseLinear(weight, torch.float32) for weight in weights]}
    try:
        candidates["int4"] = [
            Int4Linear(weight) if Int4Linear.fits(weight) else Int8Linear(weight) for weight in weights
        ]
    except RuntimeError:  # no 4-bit kernel in this torch build
        logger.info("torch has no 4-bit CPU matmul here; decoding in float32.", exc_info=True)
    columns = [weight.shape[1] for weight in weights]
    del weights
    timed = dict.fromkeys(candidates, float("inf"))
    with torch.inference_mode():
        for _ in range(6):  # rounds alternate between the kinds, so that other work on the machine hits each alike
            for name, linears in candidates.items():
                started = time.perf_counter()
                for linear, width in zip(linears, columns):
                    linear(inputs[width])
                timed[name] = min(timed[name], (time.perf_counter() - started) / layers)
    choice = min(timed, key=timed.get)
    logger.info(
        "Faster CPU matmuls for layers of %s: %s (per layer: %s)",
        layer_shapes,
        choice,
        ", ".join(f"{name} {seconds * 1e6:.0f} us" for name, seconds in timed.items()),
    )
    return choice
