"""The encoder's ONNX Runtime back ends (`matching/onnx.py`): the float32 export computes the vectors
torch computes; the int8 one ranks as torch ranks; each model is exported once per machine, whole or
not at all; int8 vectors never mix with torch's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diaspora.matching import onnx
from diaspora.matching.encoder import (
    BLENDED_MODEL,
    MULTILINGUAL_MODEL,
    PACKAGED_MODEL,
    Encoder,
    make_encoder,
    resolve_model,
)
from diaspora.platform.settings import Settings

# Job titles, and the way a person or a post would put the same job otherwise.
TITLES = [
    "Interventional cardiologist",
    "Paediatric nurse",
    "Civil engineer for bridges and roads",
    "Backend software developer",
    "Secondary school mathematics teacher",
    "Truck driver for international routes",
    "Tax accountant",
    "Electrician for residential buildings",
    "Hotel receptionist",
    "Agricultural engineer, irrigation",
]
PARAPHRASES = [
    "Heart doctor performing catheterisations and stenting",
    "Nurse caring for sick children in a hospital ward",
    "Designs and supervises the building of highways and bridges",
    "Writes server-side code and APIs in Python",
    "Teaches algebra and geometry to teenagers",
    "Drives heavy lorries across European borders",
    "Prepares tax returns and keeps the books of small firms",
    "Installs wiring and fuse boxes in houses",
    "Welcomes guests at the front desk and handles bookings",
    "Plans water supply for farms and crop fields",
]


@pytest.fixture(autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One cache for the module: the exports are made once here, and the tests see them made."""
    folder = tmp_path_factory.getbasetemp() / "onnx-model-cache"
    monkeypatch.setenv("DIASPORA_MODEL_CACHE", str(folder))
    return folder


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def test_the_float32_export_computes_the_vectors_torch_computes() -> None:
    texts = [*TITLES, *PARAPHRASES, "", "  spaces\tand\nbreaks ", "ﬁnancial analyst — ÀÉÎ õü ß"]
    theirs = Encoder(PACKAGED_MODEL, backend="torch").encode(texts)
    ours = Encoder(PACKAGED_MODEL, backend="onnx").encode(texts, batch_size=4)  # several batches, sorted
    assert ours.shape == theirs.shape
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert _cosines(ours, theirs).min() >= 0.9999


def test_int8_ranks_each_title_s_own_description_first_as_torch_does() -> None:
    found = {}
    for backend in ("torch", "onnx-int8"):
        encoder = Encoder(PACKAGED_MODEL, backend=backend)
        scores = encoder.encode(TITLES) @ encoder.encode(PARAPHRASES).T
        found[backend] = scores
    assert list(found["onnx-int8"].argmax(axis=1)) == list(found["torch"].argmax(axis=1))
    assert np.abs(found["onnx-int8"] - found["torch"]).max() < 0.05


def test_int8_vectors_have_a_model_id_of_their_own_and_read_the_model_s_calibration() -> None:
    from diaspora.matching.calibration import calibration_for

    torch_encoder = make_encoder(BLENDED_MODEL, backend="torch")
    assert make_encoder(BLENDED_MODEL, backend="onnx").model_id == torch_encoder.model_id
    int8 = make_encoder(BLENDED_MODEL, backend="onnx-int8")
    assert int8.model_id != torch_encoder.model_id  # stored vectors of one are never read as the other's
    assert calibration_for(int8.model_id) == calibration_for(torch_encoder.model_id)
    assert all(part.backend == "onnx-int8" for part, _ in int8.parts)  # type: ignore[attr-defined]
    assert int8.dimension == torch_encoder.dimension == 768


def test_a_model_is_exported_once_and_opened_by_the_next_process(monkeypatch: pytest.MonkeyPatch) -> None:
    Encoder(PACKAGED_MODEL, backend="onnx-int8").encode(["warm"])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx, "export", refuse)
    again = Encoder(PACKAGED_MODEL, backend="onnx-int8")
    assert again.encode(["Tax accountant"]).shape == (1, 384)


def test_a_failed_export_leaves_nothing_behind_and_the_next_use_exports_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIASPORA_MODEL_CACHE", str(tmp_path / "cache"))
    real = onnx.export

    def half_then_fail(model_path: Path, folder: Path, *, quantised: bool) -> None:
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"half a graph")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(onnx, "export", half_then_fail)
    with pytest.raises(RuntimeError, match="killed"):
        Encoder(PACKAGED_MODEL, backend="onnx").encode(["x"])
    exported = onnx.export_folder(Path(resolve_model(PACKAGED_MODEL)), quantised=False, label=PACKAGED_MODEL)
    assert not exported.exists()
    assert not [p for p in exported.parent.iterdir() if p.is_dir()]  # no scratch folder either

    monkeypatch.setattr(onnx, "export", real)
    assert Encoder(PACKAGED_MODEL, backend="onnx").encode(["x"]).shape == (1, 384)


def test_a_back_end_nobody_offers_is_refused_and_other_devices_run_torch() -> None:
    with pytest.raises(ValueError, match="back end"):
        Encoder(PACKAGED_MODEL, backend="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="embedding_backend"):
        Settings(embedding_backend="tensorrt")  # type: ignore[arg-type]
    assert Encoder(PACKAGED_MODEL, device="cuda", backend="onnx-int8").backend == "torch"
    assert Settings().embedding_backend == "torch"


@pytest.mark.slow  # exports multilingual-e5-small (470 MB) and loads it twice
def test_int8_e5_keeps_its_prompts_and_finds_translations() -> None:
    texts = ["Interventni kardiolog, koronarna angiografija", "Kardiolog intervencues", "Tax accountant"]
    english = [
        "Interventional cardiologist, coronary angiography",
        "Interventional cardiologist",
        "Tax adviser",
    ]
    torch_encoder = Encoder(MULTILINGUAL_MODEL, backend="torch")
    int8 = Encoder(MULTILINGUAL_MODEL, backend="onnx-int8")
    for side in ("query", "passage"):
        ours, theirs = int8.encode(texts, side=side), torch_encoder.encode(texts, side=side)
        assert _cosines(ours, theirs).min() >= 0.98
    query, passage = int8.encode(texts, side="query"), int8.encode(texts, side="passage")
    assert _cosines(query, passage).max() < 0.999  # the sides' prompts differ, as in torch
    found = int8.encode(texts) @ int8.encode(english).T
    assert list(found.argmax(axis=1)) == [0, 1, 2]
