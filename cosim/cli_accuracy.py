"""Accuracy commands of `cosim`: measure a profile (`accuracy`), plot it (`report-accuracy`)."""

from __future__ import annotations

import os
from typing import List, Optional

import typer

from .cli_common import _fail, _guard, app, console, err_console


def _acc_guard(fn):
    """_guard plus the accuracy path's unwritable outputs, each as one clear line (exit 2)."""

    def go():
        try:
            return fn()
        except (IsADirectoryError, NotADirectoryError, PermissionError) as e:
            _fail(f"cannot write {e.filename or ''}: {e.strerror or e}")

    return _guard(go)


def default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


def _threads(n: Optional[int]) -> int:
    """torch's thread count: ``n``, or all cores (at most 16); 0 or less is refused (one line)."""
    import torch

    if n is not None and n < 1:
        _fail(f"--threads {n} must be >= 1 (default: all cores, at most 16: {default_threads()} here)")
    n = n or default_threads()
    torch.set_num_threads(n)
    return n


def _configs_to_measure(fam, base, ids: list[str] | None, sweep: list[str] | None) -> list:
    """The configurations `accuracy` measures: those of ``--config`` (each one of the model
    ``base`` names), and with ``--sweep`` the full model and its sweep of each knob named; the
    full model alone if neither is given. Each once, in that order."""
    import workloads
    from workloads.measure import sweep as make_sweep

    configs = []
    for cid in ids or []:
        c = workloads.parse_config(cid)
        if c.family != fam.family or any(c[k] != base[k] for k in fam.name_keys()):
            _fail(f"--config {cid!r} is not a configuration of {base.name}")
        configs.append(c)
    if sweep:
        configs.insert(0, base)
        for k in sweep:
            configs += make_sweep(fam, base, k)
    if not configs:
        configs = [base]
    seen: set[str] = set()
    return [c for c in configs if not (c.id in seen or seen.add(c.id))]


def _torch_device(device: str | None) -> str:
    """``--device``, or cuda when torch sees a GPU, else cpu; a cuda device without a GPU is refused."""
    import torch

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dev.startswith("cuda") and not torch.cuda.is_available():
        _fail(f"--device {dev}: torch sees no GPU here; use --device cpu")
    return dev


def _run_with_progress(job, n_configs: int, n_samples: int, quiet: bool) -> None:
    """Run an accuracy `Measurement`, with a progress bar (configurations, and samples of the
    current one) and a line per measured configuration on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, disable=quiet, transient=True) as prog:
        overall = prog.add_task("configurations", total=n_configs)
        cur = prog.add_task("", total=n_samples, visible=False)

        def progress(cid: str, done: int, total: int) -> None:
            prog.update(cur, description=cid, completed=done, total=total, visible=True)

        def on_done(cfg, value: float, reused: bool) -> None:
            prog.advance(overall)
            what = "already measured" if reused else "measured"
            prog.console.print(f"{value:8.2f}  {cfg.id}  ({what})", highlight=False)

        job.run(progress=progress, on_done=on_done)


@app.command()
def accuracy(
    model: str = typer.Argument(..., help="model name, e.g. segformer-b2, segformer-demo, swin-t, ofa-resnet50"),
    checkpoint: str = typer.Option(..., "--checkpoint", help="Hugging Face model folder (SegFormer, Swin) or state_dict file (ResNet-50, OFA super-net)"),
    data: str = typer.Option(..., "--data", help="data folder in the data set's standard layout"),
    out: str = typer.Option(..., "--out", "-o", help="profile YAML to write (an existing one with the same checkpoint and data is resumed)"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="ade20k | cityscapes | imagenet (default: ade20k for segmentation, imagenet for classification)"),
    split: Optional[str] = typer.Option(None, "--split", help="split folder (default: validation / val)"),
    config: Optional[List[str]] = typer.Option(None, "--config", "-c", help="a configuration id to measure (repeatable)"),
    sweep: Optional[List[str]] = typer.Option(None, "--sweep", help="a knob to sweep below the full model (repeatable): blocks, heads, ffn, dec, ..."),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help="input resolution HxW of the full model and its sweeps"),
    limit: Optional[int] = typer.Option(None, "--limit", help="only the first N images (sorted by name), for a quick look"),
    batch: int = typer.Option(8, "--batch", help="images per forward pass", min=1),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: all cores, at most 16)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda (default: cuda when torch sees a GPU)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    new_profile: bool = typer.Option(False, "--new-profile", help="replace an existing profile at OUT measured with "
                                     "another checkpoint, data set, split or metric by a new one (else refused)"),
) -> None:
    """Measure the accuracy of configurations with the executable knobs; write a profile with provenance."""

    def go():
        from traces.output import OutputClaim

        # the profile is claimed for the whole measurement (the writer lock `cosim run` holds):
        # no other process writes it meanwhile; it is resumed, so an existing one is no error
        claim = OutputClaim(out, overwrite=True, inputs=(checkpoint, data), what="accuracy profile")
        try:
            _measure()
        finally:
            claim.release()

    def _measure():
        from pathlib import Path

        import workloads
        from workloads.datasets import open_dataset
        from workloads.measure import Measurement, check_classes, load_checkpoint
        from workloads.synthetic import synthetic_info

        from .version import __version__

        fam = workloads.family_of(model)
        base = workloads.make_config(model, resolution=resolution)
        configs = _configs_to_measure(fam, base, config, sweep)
        ds_name = dataset or ("ade20k" if fam.task == "segmentation" else "imagenet")
        dev = _torch_device(device)
        n_threads = _threads(threads)
        data_spec = open_dataset(ds_name, data, split, limit)
        if (fam.task == "segmentation") != (data_spec.task == "segmentation"):
            _fail(f"--dataset {ds_name} is a {data_spec.task} data set; {model} is a {fam.task} model")
        synth = synthetic_info(data)
        ckpt = load_checkpoint(fam, base, checkpoint)
        check_classes(ckpt, data_spec, synth)
        job = Measurement(fam, ckpt, data_spec, configs, Path(out), batch=batch, device=dev,
                          tool_version=__version__, synthetic=synth, new_profile=new_profile)
        if not new_profile:  # before the long measurement: refuse to mix two measurements in one file
            from workloads.measure import read_profile_doc

            job.check_binding(read_profile_doc(Path(out)).get("entries") or {})
        err_console.print(f"{len(configs)} configuration(s) of {base.name} on {data_spec.description}; "
                          f"checkpoint sha256 {ckpt.sha256[:12]}; {dev}, {n_threads} thread(s)", highlight=False)
        _run_with_progress(job, len(configs), len(data_spec.samples), quiet)
        console.print(f"wrote {out} ({len(configs)} configuration(s), {job.metric_name}; label: {job.label})",
                      highlight=False)

    _acc_guard(go)


@app.command("report-accuracy")
def report_accuracy(
    profile: str = typer.Argument(..., help="accuracy profile YAML (from `cosim accuracy`) or a shipped profile name"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="output folder (default: PROFILE-report next to the profile)"),
    hw: Optional[str] = typer.Option(None, "--hw", help="also plot against latency and energy simulated on this hardware preset"),
) -> None:
    """Resilience curves: accuracy vs MACs (and simulated latency/energy) per knob, the paper's figure."""

    def go():
        from .accuracy_report import report

        res = report(profile, out, hw)
        console.print(f"wrote {res['png']} and {res['md']}", highlight=False)
        console.print(res["table"], highlight=False)

    _acc_guard(go)
