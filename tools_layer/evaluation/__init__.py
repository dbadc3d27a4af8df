"""Evaluation of generator versions: perplexity, BLEU and ROUGE for text; sample grids and diversity for images."""
