"""The measures an evaluation reports, as plain functions of texts and pixels.

- perplexity: exp(total negative log-likelihood / total tokens) over every scored token (token-weighted).
- BLEU: sacrebleu's corpus BLEU (0..100) of the generated answers against their references; with its
  `zh` tokenizer (each Han character a token) when the texts hold Chinese.
- ROUGE-1, ROUGE-2, ROUGE-L: rouge-score's F-measure (0..1, Porter-stemmed), the best over an item's
  references, averaged over items. Han characters count one token each (rouge-score's own tokenizer
  drops every non-Latin character, which scored identical Chinese texts 0.0).
- diversity of images: the mean over all pairs of samples of the root-mean-square difference of their
  pixels (each in 0..1). 0 means every sample is the same picture (a collapsed generator); two
  independent uniform-noise images score about 0.41 and scikit-learn's 8x8 digits about 0.38 (measured),
  so it tells a collapsed generator from a varied one, not good samples from noise: read it beside the
  grid and beside the same measure of real validation images (`dataset_diversity`).
"""

import io
import math
import re

import numpy as np
from PIL import Image

GRID_GAP = 2


def perplexity(*, nll: float, tokens: int) -> float | None:
    return math.exp(nll / tokens) if tokens else None


HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


class CharacterAwareTokenizer:
    """rouge-score's tokenizer (lower-cased, Porter-stemmed Latin words) with each Han character kept as
    a token of its own, so that Chinese is scored on characters."""

    def __init__(self):
        from rouge_score.tokenizers import DefaultTokenizer

        self.latin = DefaultTokenizer(use_stemmer=True)

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        for piece in re.split(f"({HAN.pattern})", text):
            if not piece:
                continue
            if HAN.fullmatch(piece):
                if piece.isalnum():  # CJK punctuation is not a token
                    tokens.append(piece)
            else:
                tokens.extend(self.latin.tokenize(piece))
        return tokens


def bleu_and_rouge(*, outputs: list[str], references: list[list[str]]) -> dict[str, float]:
    """Corpus BLEU and mean ROUGE F-measures of `outputs[i]` against `references[i]` (one or more)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    # sacrebleu reads references as streams of equal length: an item with fewer references repeats its
    # first, which changes nothing (BLEU counts clip at the best reference).
    streams = max(len(refs) for refs in references)
    padded = [refs + [refs[0]] * (streams - len(refs)) for refs in references]
    chinese = any(HAN.search(text) for text in [*outputs, *(ref for refs in references for ref in refs)])
    bleu = sacrebleu.corpus_bleu(
        outputs, [list(stream) for stream in zip(*padded)], tokenize="zh" if chinese else "13a"
    )
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=CharacterAwareTokenizer())
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for output, refs in zip(outputs, references):
        scores = scorer.score_multi(refs, output)
        for name in totals:
            totals[name] += scores[name].fmeasure
    return {"bleu": round(bleu.score, 4), **{name: round(total / len(outputs), 4) for name, total in totals.items()}}


def as_unit_floats(images: list[np.ndarray]) -> np.ndarray:
    """uint8 arrays [height, width, channels] as one float array [count, pixels] in 0..1."""
    return np.stack([image.reshape(-1) for image in images]).astype(np.float64) / 255.0


def pairwise_diversity(images: list[np.ndarray]) -> float | None:
    """Mean RMS pixel difference over all pairs (see the module's docstring); None for fewer than two."""
    if len(images) < 2:
        return None
    flat = as_unit_floats(images)
    squares = (flat**2).sum(axis=1)
    distances = np.maximum(squares[:, None] + squares[None, :] - 2 * flat @ flat.T, 0.0)
    upper = np.triu_indices(len(images), k=1)
    return round(float(np.sqrt(distances[upper] / flat.shape[1]).mean()), 6)


def fit_to(picture: bytes, *, width: int, height: int, channels: int) -> np.ndarray:
    """A stored image resized and converted like the generated samples, for a like-for-like measure."""
    with Image.open(io.BytesIO(picture)) as image:
        image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def grid_png(images: list[np.ndarray], *, columns: int = 8, scale: int = 1) -> bytes:
    """The images tiled `columns` wide with a small gap, as one PNG."""
    height, width, channels = images[0].shape
    rows = math.ceil(len(images) / columns)
    columns = min(columns, len(images))
    mode = "L" if channels == 1 else "RGB"
    canvas = Image.new(
        mode,
        (columns * (width + GRID_GAP) + GRID_GAP, rows * (height + GRID_GAP) + GRID_GAP),
        255 if mode == "L" else (255, 255, 255),
    )
    for index, array in enumerate(images):
        tile = Image.fromarray(array[:, :, 0] if channels == 1 else array)
        row, column = divmod(index, columns)
        canvas.paste(tile, (GRID_GAP + column * (width + GRID_GAP), GRID_GAP + row * (height + GRID_GAP)))
    if scale > 1:
        canvas = canvas.resize((canvas.width * scale, canvas.height * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
