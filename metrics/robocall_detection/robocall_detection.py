"""Robocall-vs-human detection metrics (robocall-bench) as a Hugging Face ``evaluate`` module.

Load offline by path: ``evaluate.load("metrics/robocall_detection")``. The numbers come from
``rcb_core.py``, a verbatim copy of ``robocall_bench/evaluation/core.py`` (a test keeps them equal),
so this module and ``rcb eval`` give identical values.
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np

from .rcb_core import CostModel, compute_metrics

_CITATION = """\
@misc{robocall-bench,
  title = {robocall-bench: a benchmark for telling robocalls from live humans in phone-call audio},
  year = {2026},
  note = {Metric definitions follow the ASVspoof 5 evaluation plan (EER, minDCF, actDCF, Cllr)}
}
"""

_DESCRIPTION = """\
Detection metrics for deciding from call audio whether the speaker is a robocall (TTS or recorded
telemarketing; the spoof class) or a live human (the bona fide class): EER and its threshold,
minDCF and actDCF with the ASVspoof 5 cost model (P_spoof=0.05, C_miss=1, C_fa=10), Cllr and
minCllr (PAV), ROC AUC, FPR at FNR=1%, FNR at FPR=1%, and accuracy/precision/recall/F1 at the
EER threshold (and at a fixed threshold when one is given). Scores: higher = more likely robocall,
ideally a log-likelihood ratio; a trial is flagged robocall when score > threshold.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of float): one score per trial, higher = more likely robocall.
    references (list of int): 1 = robocall, 0 = human.
    p_spoof (float): prior of the robocall class in the detection cost. Default 0.05.
    c_miss (float): cost of flagging a human (ASVspoof's C_miss of a bona fide trial). Default 1.
    c_fa (float): cost of passing a robocall (ASVspoof's C_fa of a spoof trial). Default 10.
    threshold (float, optional): a fixed threshold (e.g. fixed on dev); adds the *_at_fixed keys.
Returns:
    dict of floats: eer, eer_threshold, min_dcf, min_dcf_threshold, act_dcf, cllr, min_cllr, auc,
    fpr_at_fnr_1pct, fnr_at_fpr_1pct, accuracy_at_eer, precision_at_eer, recall_at_eer, f1_at_eer,
    n_robocall, n_human (+ *_at_fixed).
Examples:
    >>> metric = evaluate.load("metrics/robocall_detection")
    >>> r = metric.compute(predictions=[2.0, 1.0, -1.0, 0.5], references=[1, 1, 0, 0])
    >>> r["eer"], r["auc"]
    (0.0, 1.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RobocallDetection(evaluate.Metric):
    """EER, minDCF, actDCF, Cllr, minCllr, AUC and operating-point rates for robocall detection."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("int32")}
            ),
            reference_urls=["https://www.asvspoof.org/"],
        )

    def _compute(self, predictions, references, p_spoof=0.05, c_miss=1.0, c_fa=10.0, threshold=None):
        cost = CostModel(float(p_spoof), float(c_miss), float(c_fa))
        scores = np.asarray(predictions, dtype=np.float64)
        labels = np.asarray(references)
        return compute_metrics(scores, labels, cost, None if threshold is None else float(threshold))
