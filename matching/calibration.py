"""What a cosine similarity means for each encoder.

Encoders spread their similarities differently: for the English MiniLM two unrelated occupations score
about 0.2, for multilingual-e5 about 0.8. Every threshold and every "fit %" shown to people therefore
goes through the model's calibration, measured by `bench/calibrate.py` on the ESCO occupations export:

- `unrelated`: the typical similarity of two different occupations (a cardiologist and a welder);
- `same`: the typical similarity of one occupation named two ways;
- `skill_threshold`: the least similarity at which one skill or title stands for another.

`fit(cosine)` maps a similarity onto [0, 1] between those two anchors, so 0.5 means "halfway between
unrelated and the same thing" whatever the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from diaspora.matching.onnx import INT8_SUFFIX


@dataclass(frozen=True, slots=True)
class Calibration:
    unrelated: float
    same: float
    skill_threshold: float

    def __post_init__(self) -> None:
        if not -1.0 <= self.unrelated < self.same <= 1.0:
            raise ValueError("a calibration needs -1 <= unrelated < same <= 1")
        if not -1.0 <= self.skill_threshold <= 1.0:
            raise ValueError("skill_threshold is a cosine similarity, between -1 and 1")

    def fit(self, cosine: float) -> float:
        """The similarity on the model-independent scale: 0 at `unrelated` or below, 1 at `same` or above."""
        return min(1.0, max(0.0, (cosine - self.unrelated) / (self.same - self.unrelated)))

    def fits(self, cosines: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """`fit` of every similarity in an array at once (the scalar one stays plain Python: scoring calls it
        for every candidate)."""
        return np.clip((cosines - self.unrelated) / (self.same - self.unrelated), 0.0, 1.0)


# Measured with `python bench/calibrate.py --model NAME` (ESCO v1.2 occupations, seed 7), keyed by the
# names in `matching/encoder.py` (a test checks that every packaged model has its row).
CALIBRATIONS = {
    "packaged:all-MiniLM-L6-v2": Calibration(unrelated=0.188, same=0.754, skill_threshold=0.631),
    "packaged:multilingual-e5-small": Calibration(unrelated=0.806, same=0.934, skill_threshold=0.909),
    "packaged:multilingual-e5-small+all-MiniLM-L6-v2": Calibration(
        unrelated=0.752, same=0.917, skill_threshold=0.887
    ),
}
# The lexical channel's agreement (`matching/lexical.py`), measured the same way (`--model lexical`): two
# different occupations share no wording, one occupation's two names typically share half of theirs, so
# its score component reads on the encoder's scale (0: what different occupations share, 1: what one
# occupation's two names share).
LEXICAL = "lexical"
LEXICAL_CALIBRATION = Calibration(unrelated=0.003, same=0.564, skill_threshold=0.341)

# A model nobody measured: similarities are read as they come, with MiniLM's threshold.
UNCALIBRATED = Calibration(unrelated=0.0, same=1.0, skill_threshold=0.62)


def calibration_for(model_name: str) -> Calibration:
    """A model's calibration; its int8 export (`onnx.INT8_SUFFIX`) reads like it (measured:
    `bench/calibrate.py`)."""
    return CALIBRATIONS.get(model_name.removesuffix(INT8_SUFFIX), UNCALIBRATED)
