"""`cosim reproduce`: the paper's study on this tool, as sweeps (studies/*.yaml), figures (PNG and
SVG, one style: traces/style.py) and a Markdown page that puts each of the paper's published
claims beside the tool's measured number, with one verdict line per part (agrees / disagrees /
cannot be stated) and, for a disagreement, its reason measured by re-running the study under the
alternative assumptions (explore/reproduce_ofa.py).

Every number on the page comes from the sweep results in ``OUT/sweeps/``. Accuracy is data with
provenance: the built-in published tables, or measured profiles given with ``accuracy=`` (``cosim
reproduce --accuracy PROFILE.yaml``), which take precedence wherever they cover a configuration;
where no accuracy is known the page says so and why, and never substitutes a proxy for it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from cosim.builtin import study_dir

from .study import PAPER_REF, TOLERANCE_PCT, Context, quote

STUDY_DIR = study_dir()  # the checkout's studies/, or the installed package data
PARTS = ("op_classes", "b2_dynamic", "ofa", "vector_size", "scaling")


# ---------------------------------------------------------------------------------------------
# accuracy profiles
# ---------------------------------------------------------------------------------------------
def load_profiles(paths: Iterable[str]) -> list:
    from workloads.accuracy import load_profile

    return [load_profile(p) for p in paths]


def with_accuracy(df, profiles: Sequence[Any]):
    """``df`` with accuracy, label and provenance looked up again with the measured profiles first:
    a profile replaces the built-in tables (and the MAC proxy) wherever it covers a configuration."""
    from workloads.accuracy import accuracy_of

    if df is None or not len(df) or "config" not in df.columns:
        return df
    df = df.copy()
    accs = [accuracy_of(c, profiles=profiles) for c in df["config"]]
    df["accuracy"] = [a.value for a in accs]
    df["accuracy_label"] = [a.label for a in accs]
    df["accuracy_metric"] = [a.metric for a in accs]
    df["accuracy_profile"] = [a.profile or ("built-in table" if a.known else "") for a in accs]
    return df


def profile_spec(prof, preset: str = "vs16") -> dict:
    """The sweep of a profile's own configurations on ``preset`` (part 2's measured panel)."""
    return {"name": f"profile-{prof.sha256[:12]}", "mode": "simulate", "fixed": {"preset": preset},
            "description": f"configurations of {prof.name} on {preset}",
            "axes": {"config": sorted(prof.entries)}}


def study_specs(parts: Sequence[str], profiles: Sequence[Any]) -> dict:
    """Every sweep the chosen parts need: name -> Spec."""
    from .sweep_spec import load_spec

    specs = {p: load_spec(STUDY_DIR / f"{p}.yaml") for p in parts}
    if "ofa" in parts:
        from .reproduce_ofa import EXTRA_STUDIES

        specs.update({s: load_spec(STUDY_DIR / f"{s}.yaml") for s in EXTRA_STUDIES})
    if "b2_dynamic" in parts:
        for prof in profiles:
            specs[f"profile-{prof.sha256[:12]}"] = load_spec(profile_spec(prof))
    return specs


def _run_sweeps(specs: dict, out: Path, workers, scheduler, say, progress=None) -> dict:
    """Every sweep of ``specs`` at once on one cluster, each from a thread of its own: Dask
    schedules all their points together, so no worker waits idle at the end of one sweep while
    another has points left (from empty caches on 2 cores: 91 s one sweep after the other, 82-84 s
    at once). Each sweep's report is logged as it ends; its wall time then includes the other
    sweeps' points run meanwhile, and a last line gives the whole."""
    import threading
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    from .sweep_driver import SweepReport, _client, sweep
    from .sweep_results import finished_ids

    def one(name: str, spec) -> Any:
        rep = SweepReport()
        tick = (lambda r: progress(name, r)) if progress else None
        df = sweep(spec, out / "sweeps" / name, client=client, report=rep, progress=tick, stop=stop)
        say(f"{name}: {rep}")
        return df, rep

    client = cluster = pool = None
    stop = threading.Event()
    try:
        if any(not {pt.id for pt in spec.points()} <= finished_ids(out / "sweeps" / name)
               for name, spec in specs.items()):
            client, cluster = _client(workers, scheduler)
        pool = ThreadPoolExecutor(max_workers=max(1, len(specs)), thread_name_prefix="sweep")
        t0 = time.perf_counter()
        futs = {name: pool.submit(one, name, spec) for name, spec in specs.items()}
        wait(futs.values(), return_when=FIRST_EXCEPTION)
        for fut in futs.values():  # an error ends the study: the first, in spec order, of the sweeps ended
            if fut.done():
                fut.result()
        done = {name: fut.result() for name, fut in futs.items()}
        if client is not None and len(specs) > 1:
            ran = sum(rep.done for _, rep in done.values())
            say(f"{len(specs)} sweeps at once: {ran} points run in {time.perf_counter() - t0:.1f} s wall")
        return {name: df for name, (df, _) in done.items()}
    finally:
        stop.set()  # (before the client closes: a sweep still waiting on its points ends without a row)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _header(profiles: Sequence[Any]) -> list[str]:
    md = ["# The paper's study on dynvit-cosim", "", "## The paper", "", PAPER_REF, "",
          "The claims this page checks, in the abstracts' words:", ""]
    md += [quote(k) + "\n" for k in ("b2", "b2_v3", "ofa", "ofa_v3", "op_classes", "vector_size", "scaling")]
    md += ["Each part below is a sweep (spec under `studies/` in the repository; results under `sweeps/` next to "
           f"this page) and ends in one verdict: *agrees* (the tool's number within {TOLERANCE_PCT:g} percentage "
           "points of the paper's, or the qualitative claim holds on the tool's numbers), *disagrees* (with the "
           "reason, measured), or *cannot be stated* (with what is missing). Accuracy is published or measured "
           "data with its provenance; the tool never stands in a MAC count for an accuracy.", ""]
    if profiles:
        md += ["Accuracy profiles given (they replace the built-in tables wherever they cover a configuration):", ""]
        for p in profiles:
            labels = sorted({a.label for a in p.entries.values()})
            md.append(f"- `{p.name}`: {len(p.entries)} configurations; label: {'; '.join(labels)}")
        md.append("")
    return md


def reproduce(out: str | Path = "runs/reproduce", *, workers: int | None = None, scheduler: str | None = None,
              only: Iterable[str] | None = None, accuracy: Iterable[str] = (),
              log: Callable[[str], None] | None = None, progress: Callable[[str, Any], None] | None = None) -> Path:
    """Run the study's sweeps (resumable), draw the figures, write ``OUT/reproduce.md``.
    ``progress(sweep_name, SweepReport)`` is called as each point finishes (`cosim reproduce`'s bar)."""
    from .reproduce_ofa import part_ofa
    from .reproduce_parts import part_b2, part_op_classes, part_scaling, part_vector_size
    from .sweep_spec import SpecError

    parts = list(only) if only else list(PARTS)
    for p in parts:
        if p not in PARTS:
            raise SpecError(f"--only {p!r} is not a part; parts: {', '.join(PARTS)}")
    profiles = load_profiles(accuracy)
    out = Path(out)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    say = log or (lambda m: None)
    t0 = time.perf_counter()
    results = _run_sweeps(study_specs(parts, profiles), out, workers, scheduler, say, progress)
    results = {k: with_accuracy(v, profiles) for k, v in results.items()}
    sweep_s = time.perf_counter() - t0
    ctx = Context(results=results, figs=figs, profiles=profiles)
    analyses = {"op_classes": part_op_classes, "b2_dynamic": part_b2, "ofa": part_ofa,
                "vector_size": part_vector_size, "scaling": part_scaling}
    body = []
    for p in parts:
        body += analyses[p](ctx)
    titles = {"op_classes": "1. where the work goes", "b2_dynamic": "2. SegFormer-B2 savings at a drop",
              "ofa": "3. OFA ResNet-50 switching", "vector_size": "4. vector size", "scaling": "5. scaling resources"}
    md = _header(profiles) + ["## Verdicts", "", "| part | verdict |", "|---|---|"]
    md += [f"| {titles[p]} | {ctx.verdicts.get(p, '-').replace('|', '/')} |" for p in parts]
    md += [""] + body
    md += ["---", f"Generated by `cosim reproduce` in {time.perf_counter() - t0:.0f} s wall ({sweep_s:.0f} s in "
           "sweeps; finished points of earlier runs are reused). Figures: PNG for viewing, SVG for papers, in "
           "`figures/`."]
    page = out / "reproduce.md"
    page.write_text("\n".join(md) + "\n")
    return page
