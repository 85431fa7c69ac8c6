"""`cosim accuracy` end to end on a tiny demo model trained in seconds; resume after SIGKILL;
bad inputs; measured profiles in a System and in the trace."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cosim.cli import app
from workloads import make_config
from workloads.accuracy import AccuracyDataError, accuracy_of, load_profile
from workloads.measure import sweep
from workloads.segformer import SegFormerFamily

ROOT = Path(__file__).resolve().parent.parent
RES = "64x64"
SWEEPS = ["--sweep", "heads", "--sweep", "blocks", "--sweep", "ffn", "--sweep", "dec"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """scripts/train_demo.py --tiny: data in ADE20K layout + a Hugging Face checkpoint (seconds)."""
    out = tmp_path_factory.mktemp("tiny")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "train_demo.py"), "--out", str(out), "--tiny",
                    "--val", "24", "--threads", "1"], check=True, env=_env(), capture_output=True, text=True)
    assert time.perf_counter() - t0 < 120
    return out


def _accuracy(args, **kw):
    return CliRunner().invoke(app, ["accuracy", *args], **kw)


def _base_args(tiny, out, model="segformer-demo"):
    return [model, "-r", RES, "--checkpoint", str(tiny / "checkpoint"), "--data", str(tiny / "data"),
            "-o", str(out), "--threads", "1", "-q"]


def test_sweeps_are_one_knob_below_the_full_model():
    fam = SegFormerFamily()
    base = fam.config(name="segformer-demo", resolution=RES)
    ids = {k: [c.id for c in sweep(fam, base, k)] for k in ("heads", "blocks", "ffn", "dec")}
    assert ids["heads"][:3] == [f"segformer-demo@{RES}/heads={h}" for h in ("1.2.4.6", "1.1.3.4", "1.1.2.2")]
    assert f"segformer-demo@{RES}/blocks=2.2.2.1" in ids["blocks"] and len(ids["blocks"]) == 5
    assert ids["dec"] == [f"segformer-demo@{RES}/dec={d}" for d in (96, 64, 32, 16)]
    assert all(base.id not in v for v in ids.values())
    with pytest.raises(ValueError, match="not a knob"):
        sweep(fam, base, "width")


def test_accuracy_end_to_end_writes_a_profile_with_provenance(tiny, tmp_path):
    out = tmp_path / "prof.yaml"
    r = _accuracy(_base_args(tiny, out) + SWEEPS)
    assert r.exit_code == 0, r.output
    prof = load_profile(out)
    assert len(prof.entries) == 23  # full + 6 heads + 5 blocks + 7 ffn + 4 dec
    for cid, a in prof.entries.items():
        assert math.isfinite(a.value) and 0 <= a.value <= 100, cid
        assert a.label == "measured on the project's synthetic demo task, not ADE20K"
        assert "synthetic" in a.metric and a.profile == prof.name
        p = a.provenance
        assert p["images"] == 24 and p["dataset"] == "ade20k" and p["split"] == "validation"
        assert len(p["checkpoint_sha256"]) == 64 and p["date"] and p["tool_version"]
        assert len(p["per_class_IoU"]) == 7
    # the same configuration always measures the same (seeded, deterministic)
    a = prof.entries[f"segformer-demo@{RES}/heads=1.1.2.2"]
    out2 = tmp_path / "again.yaml"
    r = _accuracy(_base_args(tiny, out2) + ["--config", f"segformer-demo@{RES}/heads=1.1.2.2"])
    assert r.exit_code == 0, r.output
    assert load_profile(out2).entries[f"segformer-demo@{RES}/heads=1.1.2.2"].value == a.value
    # the measured profile plugs into the accuracy lookup, before the built-in tables
    assert math.isnan(accuracy_of(f"segformer-demo@{RES}").value)
    assert accuracy_of(f"segformer-demo@{RES}", profiles=[prof]).value == prof.entries[f"segformer-demo@{RES}"].value


def test_resume_after_sigkill_does_not_recompute_finished_configs(tiny, tmp_path):
    out = tmp_path / "prof.yaml"
    cmd = [sys.executable, "-m", "cosim", "accuracy", *_base_args(tiny, out), *SWEEPS, "--batch", "1"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and len(yaml.safe_load(out.read_text())["entries"]) >= 2:
                break
            time.sleep(0.02)
        killed = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL) if killed else None
    finally:
        proc.wait()
    first = yaml.safe_load(out.read_text())["entries"]  # the file is whole: written atomically
    assert len(first) >= 2
    if killed:
        assert len(first) < 23, "the run finished before the kill; the test needs a slower run"
    r = _accuracy(_base_args(tiny, out) + SWEEPS)
    assert r.exit_code == 0, r.output
    assert r.output.count("(already measured)") == len(first)
    assert r.output.count("(measured)") == 23 - len(first)
    done = yaml.safe_load(out.read_text())["entries"]
    assert len(done) == 23
    for cid, e in first.items():  # untouched: same value, same measurement date
        assert done[cid] == e


def _one_line_error(r, *needles):
    assert r.exit_code == 2, r.output
    msg = " ".join(r.output.split())
    assert msg.count("error:") == 1, r.output
    msg = msg[msg.index("error:"):]  # (an information line may come first)
    for n in needles:
        assert n in msg, (n, msg)


def test_bad_inputs_give_one_clear_line(tiny, tmp_path):
    out = tmp_path / "p.yaml"
    args = _base_args(tiny, out)
    # missing folder
    r = _accuracy(args[:5] + ["--data", str(tmp_path / "nope")] + args[7:])
    _one_line_error(r, str(tmp_path / "nope"), "no such folder", "expected")
    # wrong layout
    (tmp_path / "flat").mkdir()
    r = _accuracy(args[:5] + ["--data", str(tmp_path / "flat")] + args[7:])
    _one_line_error(r, "no ADEChallengeData2016 folder", "expected ADEChallengeData2016/{images,annotations}/validation")
    # empty data set
    empty = tmp_path / "empty" / "ADEChallengeData2016"
    (empty / "images" / "validation").mkdir(parents=True)
    (empty / "annotations" / "validation").mkdir(parents=True)
    r = _accuracy(args[:5] + ["--data", str(empty.parent)] + args[7:])
    _one_line_error(r, str(empty.parent), "no images found", "empty")
    # checkpoint of another model (architecture), and of another kind
    r = _accuracy(["segformer-b0"] + args[1:])
    _one_line_error(r, str(tiny / "checkpoint"), "checkpoint of another model", "expected segformer-b0")
    other = tmp_path / "swin"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "swin"}))
    r = _accuracy(args[:3] + ["--checkpoint", str(other)] + args[5:])
    _one_line_error(r, str(other), "'swin' checkpoint", "expected a Hugging Face model folder")
    r = _accuracy(args[:3] + ["--checkpoint", str(tmp_path / "none")] + args[5:])
    _one_line_error(r, str(tmp_path / "none"), "no such file or folder")
    # label values out of range
    from PIL import Image

    bad = tmp_path / "bad"
    shutil.copytree(tiny / "data", bad)
    ann = sorted((bad / "ADEChallengeData2016" / "annotations" / "validation").glob("*.png"))[0]
    lab = np.asarray(Image.open(ann)).copy()
    lab[0, 0] = 42
    Image.fromarray(lab).save(ann)
    r = _accuracy(args[:5] + ["--data", str(bad)] + args[7:])
    _one_line_error(r, str(ann), "label values 42 are out of range", "expected 0 (ignored) or 1..7")
    # an output that is not a profile is not overwritten
    junk = tmp_path / "junk.yaml"
    junk.write_text("hello: [1, 2\n")
    r = _accuracy(args[:7] + ["-o", str(junk)] + args[9:])
    _one_line_error(r, str(junk), "not valid YAML")


def test_profile_errors_name_the_file(tmp_path):
    with pytest.raises(AccuracyDataError, match="no such file, and not a shipped profile"):
        load_profile(tmp_path / "missing.yaml")
    p = tmp_path / "p.yaml"
    p.write_text("schema: 1\nentries:\n  x@1x1: {value: 1, metric: m, source: s}\n")
    with pytest.raises(AccuracyDataError, match=str(p)):
        load_profile(p)


def test_report_accuracy(tiny, tmp_path):
    out = tmp_path / "prof.yaml"
    assert _accuracy(_base_args(tiny, out) + ["--sweep", "dec"]).exit_code == 0
    r = CliRunner().invoke(app, ["report-accuracy", str(out), "-o", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "resilience.png").stat().st_size > 1000
    md = (tmp_path / "rep" / "resilience.md").read_text()
    assert f"segformer-demo@{RES}/dec=16" in md and "| dec |" in md


def test_shipped_demo_profile_is_complete_and_labelled():
    prof = load_profile("segformer-demo")
    assert len(prof.entries) >= 20
    knobs = set()
    for cid, a in prof.entries.items():
        cfg = make_config("segformer-demo", resolution="128x128")
        assert cid.startswith(cfg.id)
        assert math.isfinite(a.value)
        assert a.label == "measured on the project's synthetic demo task, not ADE20K"
        assert a.provenance["checkpoint_sha256"] and a.provenance["images"] >= 100
        knobs |= {part.split("=")[0] for part in cid.split("/")[1:]}
    assert knobs == {"heads", "blocks", "ffn", "dec"}


def test_classification_path_resnet50_on_an_imagenet_layout(tmp_path):
    import torch
    from PIL import Image

    from workloads import family_of

    fam = family_of("resnet50")
    torch.manual_seed(0)
    sd = fam.build_torch(fam.config()).state_dict()
    ck = tmp_path / "resnet50.pth"
    torch.save(sd, ck)
    val = tmp_path / "imagenet" / "val"
    for i in range(1000):
        (val / f"n{i:08d}").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in (3, 999):
        Image.fromarray(rng.integers(0, 255, (300, 260, 3), dtype=np.uint8)).save(val / f"n{i:08d}" / "x.JPEG")
    out = tmp_path / "p.yaml"
    r = _accuracy(["resnet50", "--checkpoint", str(ck), "--data", str(tmp_path / "imagenet"), "-o", str(out),
                   "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output
    e = load_profile(out).entries["resnet50@224x224"]
    assert 0 <= e.value <= 100 and e.metric == "ImageNet top-1" and e.provenance["images"] == 2
    assert e.label == "measured: cosim accuracy on imagenet val"
    # a state_dict of another model (into a new profile: `out` holds the first checkpoint's)
    torch.save({"state_dict": {"foo.weight": torch.zeros(3)}}, tmp_path / "other.pth")
    r = _accuracy(["resnet50", "--checkpoint", str(tmp_path / "other.pth"), "--data", str(tmp_path / "imagenet"),
                   "-o", str(tmp_path / "other.yaml"), "--threads", "1", "-q"])
    _one_line_error(r, str(tmp_path / "other.pth"), "checkpoint of another model", "expected resnet50")
    # ... and into `out`: refused, one profile is one checkpoint (issue 27)
    r = _accuracy(["resnet50", "--checkpoint", str(tmp_path / "other.pth"), "--data", str(tmp_path / "imagenet"),
                   "-o", str(out), "--threads", "1", "-q"])
    _one_line_error(r, str(out), "checkpoint_sha256", "--new-profile")
    # class folders missing
    r = _accuracy(["resnet50", "--checkpoint", str(ck), "--data", str(val / "n00000003"), "--dataset", "imagenet",
                   "-o", str(out), "-q"])
    _one_line_error(r, "expected", "1000 class folders")


def _run_demo(tmp_path, governor=None, duration=0.3):
    import traces
    from cosim import scenario as scen
    from cosim import simulate
    from host import Stream

    system, src = scen.load("demo_measured")
    if governor is not None:
        s = system.streams[0]
        system = system.replace(streams=[Stream(name=s.name, candidates=s.candidates, source=s.source,
                                                governor=governor)])
    res = simulate(system.replace(duration_s=duration), tmp_path / "t.h5", scenario_source=src)
    return traces.open(res.trace_path)


def test_demo_scenario_runs_with_measured_accuracy(tmp_path):
    # 1 s: the first resource drop (seeded Markov tenant) comes after 0.6 s; before it the full
    # model fits every frame, so the governor has no reason to switch
    with _run_demo(tmp_path, duration=1.0) as tr:
        f = tr.frames
        ran = f[~f["dropped"]]
        assert len(ran) > 100 and not ran["accuracy"].isna().any()
        c = tr.configs
        assert (c["objective"] == "accuracy").all()
        assert c["accuracy_profile"].str.startswith("workloads/data/measured/segformer-demo.yaml (sha256 ").all()
        assert (c["accuracy_label"] == "measured on the project's synthetic demo task, not ADE20K").all()
        assert ran["config"].nunique() >= 2  # the governor really switches


def test_traces_without_the_accuracy_profile_column_still_read(tmp_path):
    """Traces written before /configs had accuracy_profile stay readable."""
    import h5py

    import traces

    p = tmp_path / "old.h5"
    with traces.TraceWriter(p, seed=1, scenario="", hardware={}, tool_version="0") as w:
        w.add_config("c", model="m", knobs={}, macs=1, params=1, accuracy=0.5)
    with h5py.File(p, "r+") as f:
        old = f["configs"][()]
        names = [n for n in old.dtype.names if n != "accuracy_profile"]
        cols = json.loads(f["configs"].attrs["columns"])
        del f["configs"]
        ds = f.create_dataset("configs", data=old[names], maxshape=(None,))
        ds.attrs["columns"] = json.dumps([c for c in cols if c["name"] != "accuracy_profile"])
        ds.attrs["extra_columns"] = "[]"
    with traces.open(p) as tr:
        assert tr.configs.loc[0, "accuracy"] == 0.5 and "accuracy_profile" not in tr.configs
        traces.summary(tr)


@pytest.mark.slow
def test_greedy_beats_static_with_measured_accuracy(tmp_path):
    """Greedy vs static pinned to each candidate (same seed and resource timeline)."""
    from cosim import scenario as scen
    from host.governors import StaticGovernor

    import traces

    system, _ = scen.load("demo_measured")
    rows = {}
    for gov in ["greedy"] + [StaticGovernor(config=c) for c in system.streams[0].candidates]:
        with _run_demo(tmp_path, gov, duration=1.0) as tr:
            s = traces.summary_dict(tr)["streams"]["all"]
        rows[gov if isinstance(gov, str) else gov.config] = (s["miss_rate"], s["accuracy_mean"])
    g_miss, g_acc = rows.pop("greedy")
    no_more_misses = [acc for miss, acc in rows.values() if miss <= g_miss]
    no_less_accurate = [miss for miss, acc in rows.values() if acc >= g_acc]
    assert (no_more_misses and max(no_more_misses) < g_acc) or (no_less_accurate and min(no_less_accurate) > g_miss), rows


SHIPPED_CKPT = ROOT / "workloads" / "data" / "measured" / "segformer-demo-checkpoint"


def test_shipped_profile_reproduces_from_the_shipped_checkpoint(tmp_path):
    """Regenerate the validation split (seeded) and measure the full model and one sweep
    point again with the shipped checkpoint: the shipped numbers come back."""
    from workloads.measure import _sha256
    from workloads.synthetic import write_dataset

    prof = load_profile("segformer-demo")
    full = prof.entries["segformer-demo@128x128"]
    p = full.provenance
    assert p["checkpoint_sha256"] == _sha256([SHIPPED_CKPT / "config.json", SHIPPED_CKPT / "model.safetensors"])
    log = json.loads((SHIPPED_CKPT / "train_log.json").read_text())["settings"]
    write_dataset(tmp_path / "data", train=log["train"], val=log["val"], size=log["size"], seed=log["seed"],
                  splits=("validation",))
    out = tmp_path / "again.yaml"
    cids = ["segformer-demo@128x128", "segformer-demo@128x128/dec=96"]
    r = _accuracy(["segformer-demo", "-r", "128x128", "--checkpoint", str(SHIPPED_CKPT), "--data",
                   str(tmp_path / "data"), "-o", str(out), "--threads", "1", "-q"]
                  + [x for c in cids for x in ("--config", c)])
    assert r.exit_code == 0, r.output
    again = load_profile(out)
    for c in cids:
        # exact on the machine that measured it; JPEG codecs of other Pillow builds may differ slightly
        assert again.entries[c].value == pytest.approx(prof.entries[c].value, abs=0.1), c
