"""The prose of each model card: data provenance, licence, intended use, limits.

Kept apart from the training code so that reviewing what we claim about a
model does not mean reading how it is fitted.
"""
from __future__ import annotations

RISK = {
    "estimator": (
        "spline scorecard: one encoder per feature (numeric: median imputation, quantile "
        "transform, cubic B-spline with 5 knots, missing flag; categorical: 'missing' "
        "category, one-hot) -> LogisticRegression"
    ),
    "target": {
        "name": "Status",
        "positive": "bad",
        "description": "1 when the credit ended with status 'bad' (the applicant did not repay as agreed).",
    },
    "data": {
        "package": "modeldata",
        "dataset": "credit_data",
        "license": (
            "modeldata R package: MIT. The data themselves carry no separate licence; they "
            "are published for teaching on Dr. Lluís A. Belanche Muñoz's website."
        ),
        "provenance": (
            "From Dr. Lluís A. Belanche Muñoz's website by way of Dr. Gaston Sanchez's GitHub "
            "repository gastonstat/CreditScoring; one row with a missing outcome was removed "
            "by modeldata. Money columns are in the data's own units, not converted."
        ),
        "citation": (
            "Kuhn M. modeldata: Data Sets Useful for Modeling Examples (R package); "
            "Sanchez G. CreditScoring, https://github.com/gastonstat/CreditScoring"
        ),
    },
    "intended_use": (
        "Demonstrating a scored credit-risk API with exact per-feature reason codes on "
        "public teaching data. Not for decisions about real applicants."
    ),
    "limitations": (
        "Teaching data of unknown period, country and currency; no fairness audit beyond the "
        "per-age-band metrics in the card (Age and Marital are used as given, and can appear as "
        "reason codes). A missing Income, Assets or Debt is not neutral: in "
        "the data such applicants went bad more often (57% vs 26% without Income), and the "
        "missing flag carries that weight. Out-of-range inputs fall into the outermost "
        "bins; unseen categories add nothing to the score. Probabilities are calibrated to "
        "the data's 28% bad rate, not to any real portfolio."
    ),
}

DIAGNOSE = {
    "estimator": "StandardScaler -> LogisticRegression",
    "target": {
        "name": "type",
        "positive": "Yes",
        "description": "1 when the woman was diabetic according to WHO criteria.",
    },
    "data": {
        "package": "MASS",
        "dataset": "Pima.tr + Pima.te",
        "license": "MASS R package: GPL-2 | GPL-3.",
        "provenance": (
            "Women at least 21 years old, of Pima Indian heritage, living near Phoenix, "
            "Arizona, tested for diabetes according to WHO criteria; data collected by the US "
            "National Institute of Diabetes and Digestive and Kidney Diseases. MASS keeps the "
            "532 complete records (serum insulin dropped); Pima.tr (200) and Pima.te (332) "
            "are concatenated here."
        ),
        "citation": (
            "Smith JW, Everhart JE, Dickson WC, Knowler WC, Johannes RS (1988). Using the ADAP "
            "learning algorithm to forecast the onset of diabetes mellitus. Proc. Symposium on "
            "Computer Applications in Medical Care, 261-265. Venables WN, Ripley BD (2002). "
            "Modern Applied Statistics with S, 4th ed., Springer."
        ),
    },
    "intended_use": (
        "Demonstrating a clinical risk-score API with exact per-feature contributions on "
        "public research data. Not a medical device; not for diagnosing anyone."
    ),
    "limitations": (
        "532 women of one population near Phoenix, measured decades ago: the probabilities "
        "do not transfer to other populations. Linear in each feature (no thresholds or "
        "interactions). No missing values were seen, so every feature is required. The service "
        "abstains ('cannot_assess') when a measurement lies beyond the training range by more than "
        "the configured number of training standard deviations (ood_limit), and flags any value "
        "outside the range."
    ),
}

RECOMMEND = {
    "estimator": (
        "ItemKNNRecommender: item-item cosine on implicit feedback, top neighbours per "
        "item, votes from liked items plus a popularity prior"
    ),
    "data": {
        "package": "dslabs",
        "dataset": "movielens",
        "license": (
            "MovieLens data (GroupLens Research, University of Minnesota) may be used for "
            "research and non-commercial purposes only, under the GroupLens usage terms; "
            "redistribution needs their permission."
        ),
        "provenance": (
            "MovieLens 'latest small' ratings (2016 snapshot) as bundled in the R package "
            "dslabs: ratings 0.5-5 by 671 users; 7 rows lack a title and are shown as "
            "'Unknown title'."
        ),
        "citation": (
            "Harper FM, Konstan JA (2015). The MovieLens Datasets: History and Context. ACM "
            "Transactions on Interactive Intelligent Systems 5(4), Article 19."
        ),
    },
    "intended_use": (
        "Demonstrating a recommendation API (known users, liked items, cold start) on "
        "research data; research and non-commercial use only."
    ),
    "limitations": (
        "Users and items are fixed at training time: new ratings need a retrain. The "
        "later-in-time test has few users (those who rated on both sides of the time "
        "cutoff), too few to tell recommenders apart; the per-user holdout (every user's "
        "latest ratings) is the comparison to read: there item-kNN beats all-time and "
        "recency-weighted popularity on precision@10 and NDCG@10 (paired intervals exclude "
        "0; recall@10 against recency as of the user's time is not shown), and an untuned EASE "
        "beats item-kNN (NDCG@10 +0.024, interval +0.014 to +0.034) but is not served: "
        "it has no per-item reasons, filters or catalog-scale cost bound yet. The model "
        "ignores time. The artifact embeds every user's rating history."
    ),
}
