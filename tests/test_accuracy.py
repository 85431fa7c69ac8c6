"""Accuracy profiles: data files with provenance; unknown means NaN."""

import math

import pytest

from workloads import accuracy
from workloads.accuracy import UNKNOWN_SOURCE, AccuracyDataError, accuracy_of, profiles
from workloads.segformer import SegFormerFamily

FAM = SegFormerFamily()

# shared/reference/published.md (mmsegmentation model zoo, single-scale mIoU)
PUBLISHED_512 = {"b0": 37.41, "b1": 40.97, "b2": 45.58, "b3": 47.82, "b4": 48.46}


@pytest.mark.parametrize("variant,miou", sorted(PUBLISHED_512.items()))
def test_segformer_published_values(variant, miou):
    a = accuracy_of(FAM.config(name=f"segformer-{variant}", resolution="512x512"))
    assert a.value == miou
    assert a.metric == "ADE20K mIoU (single-scale)"
    assert "mmsegmentation" in a.source and a.label


def test_segformer_b5_by_crop_size():
    # the zoo's metafile: 49.13 at 512x512, 49.62 at 640x640
    assert accuracy_of(FAM.config(name="segformer-b5", resolution="512x512")).value == 49.13
    assert accuracy_of(FAM.config(name="segformer-b5", resolution="640x640")).value == 49.62


def test_decoder_width_caveat_is_labelled():
    # mmsegmentation's B2..B5 heads have 256 channels, ours (NVIDIA's) 768
    assert accuracy_of(FAM.config(name="segformer-b0")).label == "published"
    assert accuracy_of(FAM.config(name="segformer-b2")).label.startswith("approximate")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(name="segformer-b2", heads="1.2.4.8"),
        dict(name="segformer-b2", blocks="3.4.5.3"),
        dict(name="segformer-b0", ffn="128.256.640.1000"),
        dict(name="segformer-b1", dec=255),
        dict(name="segformer-b0", resolution="1024x1024"),
        dict(name="segformer-b2", resolution="640x640"),
    ],
)
def test_unmeasured_configs_are_nan(kwargs):
    a = accuracy_of(FAM.config(**kwargs))
    assert math.isnan(a.value) and not a.known
    assert a.source == UNKNOWN_SOURCE
    assert a.metric == "ADE20K mIoU (single-scale)"


def test_lookup_by_id_string():
    assert accuracy_of("segformer-b1@512x512").value == 40.97
    assert math.isnan(accuracy_of("no-such-model@1x1").value)


def test_every_entry_is_complete():
    es = profiles()
    assert es
    for cid, a in es.items():
        assert isinstance(a.value, float) and not math.isnan(a.value), cid
        assert a.metric and a.source and a.label, cid


def test_segformer_ids_are_canonical():
    for cid in profiles():
        if cid.startswith("segformer"):
            assert FAM.parse_id(cid).id == cid


def test_all_ids_are_canonical_config_ids():
    from workloads import registry

    for cid in profiles():
        assert registry.parse_config(cid).id == cid, cid


def _write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    accuracy.reload()


def test_schema_errors(tmp_path):
    _write(tmp_path, "accuracy_a.yaml", "schema: 1\nentries:\n  m@1x1: {value: 1.0, metric: m, source: s}\n")
    with pytest.raises(AccuracyDataError, match="label"):
        profiles(tmp_path)
    _write(tmp_path, "accuracy_a.yaml", "schema: 2\nentries: {}\n")
    with pytest.raises(AccuracyDataError, match="schema"):
        profiles(tmp_path)
    _write(tmp_path, "accuracy_a.yaml", "schema: 1\nentries:\n  m@1x1: {value: x, metric: m, source: s, label: l}\n")
    with pytest.raises(AccuracyDataError, match="not a number"):
        profiles(tmp_path)


def test_defaults_and_duplicates(tmp_path):
    _write(
        tmp_path,
        "accuracy_a.yaml",
        "schema: 1\nfamily: fam\ndefaults: {metric: top-1, label: published}\n"
        "entries:\n  fam-x@8x8: {value: 70.5, source: paper}\n",
    )
    a = accuracy_of("fam-x@8x8", data_dir=tmp_path)
    assert (a.value, a.metric, a.source, a.label) == (70.5, "top-1", "paper", "published")
    assert accuracy_of("fam-y@8x8", data_dir=tmp_path).metric == "top-1"
    _write(tmp_path, "accuracy_b.yaml", "schema: 1\nentries:\n  fam-x@8x8: {value: 1, metric: m, source: s, label: l}\n")
    with pytest.raises(AccuracyDataError, match="both"):
        profiles(tmp_path)
    accuracy.reload()
