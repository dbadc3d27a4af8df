"""The text measures of an evaluation on Chinese: BLEU with sacrebleu's `zh` tokenizer and ROUGE on
characters (rouge-score's own tokenizer drops Han characters, and scored identical Chinese texts 0.0)."""

from tools_layer.evaluation.metrics import CharacterAwareTokenizer, bleu_and_rouge


def test_identical_chinese_texts_score_full_marks_and_different_ones_do_not():
    same = bleu_and_rouge(outputs=["水蒸气遇冷凝结成云。"], references=[["水蒸气遇冷凝结成云。"]])
    assert same == {"bleu": 100.0, "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    near = bleu_and_rouge(outputs=["水蒸气遇冷变成云。"], references=[["水蒸气遇冷凝结成云。"]])
    assert 0 < near["bleu"] < 100 and 0.5 < near["rouge1"] < 1.0
    apart = bleu_and_rouge(outputs=["今天股票上涨了。"], references=[["水蒸气遇冷凝结成云。"]])
    assert apart["rouge1"] == 0.0 and apart["bleu"] < near["bleu"]


def test_english_keeps_its_stemmed_words_and_mixed_text_keeps_both():
    english = bleu_and_rouge(outputs=["The cats are running home"], references=[["The cat is running home"]])
    assert english["rouge1"] == 0.8  # cats ~ cat by the Porter stemmer, "are" and "is" differ
    assert CharacterAwareTokenizer().tokenize("降噪 Earbuds，通勤！") == ["降", "噪", "earbud", "通", "勤"]
