"""Blind comparisons of generator versions (an arena): answers judged in pairs, Bradley–Terry ratings."""
