"""VADER scoring and the star-agreement report."""

import numpy as np

from jaxrec.text.sentiment import agreement, polarity, star_polarity, vader_compound


def test_vader_scores_polarity():
    scores = vader_compound(
        ["I love these strings, great sound!", "Terrible, it broke in a day.", ""],
        progress=False,
    )
    assert scores[0] > 0.5 and scores[1] < -0.3 and scores[2] == 0.0
    assert polarity(scores).tolist() == [1, -1, 0]


def test_agreement_report():
    compound = np.array([0.9, 0.6, 0.0, -0.5, -0.8, 0.7], np.float32)
    stars = np.array([5, 4, 3, 2, 1, 1], np.float32)
    report = agreement(compound, stars)
    assert star_polarity(stars).tolist() == [1, 1, 0, -1, -1, -1]
    assert report["polarity_accuracy_3class"] == 5 / 6
    assert report["polarity_accuracy_binary"] == 4 / 5
    assert report["negative_recall"] == 2 / 3
    assert report["confusion_rows_stars_cols_vader"]["counts"] == [[2, 0, 1], [0, 1, 0], [0, 0, 2]]
    assert 0.0 < report["spearman"] <= 1.0
