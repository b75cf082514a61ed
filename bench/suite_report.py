"""Tables, the README section and the bar chart of the benchmark suite."""
import datetime
import os
import platform

import numpy as np

START, END = "<!-- suite:start -->", "<!-- suite:end -->"
SECTION_HEADING = "## `python -m bench` — the suite against every peer"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(versions):
    found = ", ".join(f"{name} {v}" for name, v in versions.items() if v)
    return (f"{datetime.date.today().isoformat()}, {cpu_model()} ({os.cpu_count()} cores), "
            f"{platform.system()} {platform.machine()}; {found}")


def _fmt_rate(x):
    return f"{x:,.0f}"


def _fmt_opt(x, spec):
    return "-" if x is None or not np.isfinite(x) else format(x, spec)


def throughput_table(rows):
    """rows: dicts from run.run_throughput; streamlr's rate divides each peer's."""
    columns = ("workload", "system", "optimizer", "rows timed", "samples/s", "streamlr is",
               "x floor time", "accuracy", "log loss", "R^2", "streamlr, same rows")
    head = ["| " + " | ".join(columns) + " |", "|---|---|---|" + "---:|" * (len(columns) - 3)]
    lines = []
    for r in rows:
        speedup = "-" if r["speedup"] is None else f"{r['speedup']:,.2f}x"
        lines.append(f"| {r['workload']} | {r['system']} | {r['optimizer']} | {r['rows']:,} | "
                     f"{_fmt_rate(r['rate'])} | {speedup} | {r['x_floor']:.2f} | "
                     f"{_fmt_opt(r.get('accuracy'), '.4f')} | {_fmt_opt(r.get('log_loss'), '.4f')} | "
                     f"{_fmt_opt(r.get('r2'), '.4f')} | {_fmt_opt(r.get('streamlr_same_rows'), '.4f')} |")
    return "\n".join(head + lines)


def latency_table(rows):
    head = ["| input | system | optimizer | call | calls | median us | p99 us | calls/s | x streamlr |",
            "|---|---|---|---|---:|---:|---:|---:|---:|"]
    lines = []
    for r in rows:
        ratio = "-" if r["x_streamlr"] is None else f"{r['x_streamlr']:.3g}x"
        lines.append(f"| {r['input']} | {r['system']} | {r['optimizer']} | {r['call']} | "
                     f"{r['calls']:,} | {r['median_us']:,.2f} | {r['p99_us']:,.2f} | "
                     f"{1e6 / r['median_us']:,.0f} | {ratio} |")
    return "\n".join(head + lines)


def goals_lines(goals):
    """goals: list of (description, measured string, met: bool or None)."""
    marks = {True: "met", False: "not met", None: "n/a"}
    return "\n".join(f"- {desc}: {measured} — {marks[met]}" for desc, measured, met in goals)


def section_body(results, rerun, this_run, md_path=None, png_path=None):
    measured = (f"Measured {machine_line(results['versions'])}. Scale `{results['scale']}`, "
                f"median of {results['repeats']} repeats, systems alternating within each repeat; "
                f"whole suite {results['seconds']:.0f} s.")
    rerun_line = f"Rerun: `{rerun}`" + ("" if this_run == rerun else f" (this table: `{this_run}`)")
    parts = [measured, "", rerun_line]
    if results["notes"]:
        parts += ["", "Notes:", ""] + [f"- {n}" for n in results["notes"]]
    if results["throughput"]:
        legend = ("`streamlr is`: streamlr's samples/s over this system's (same workload and "
                  "optimizer). `x floor time`: time per sample over the time per row of one `X @ w` "
                  "pass over the same matrix (the memory floor of any per-sample method). Quality "
                  "is measured on the held-out rows after training on `rows timed` rows; "
                  "`streamlr, same rows`: streamlr's accuracy (or R^2) after the same rows with "
                  "the same optimizer, the reference for a peer that trained on fewer rows.")
        parts += ["", "### Throughput: one pass over the stream", "",
                  throughput_table(results["throughput"]), "", legend]
    if results["latency"]:
        legend = ("`x streamlr`: this call's median over streamlr's median for the same input, "
                  "optimizer and kind of call (learn or predict). Slow systems stop after the "
                  "per-cell time budget (`calls` < the requested count).")
        parts += ["", "### Single events: consecutive calls on one model", "",
                  latency_table(results["latency"]), "", legend]
    if results["goals"]:
        parts += ["", "### Goals of issue 6 (streamlr)", "", goals_lines(results["goals"])]
    if png_path:
        base = os.path.dirname(os.path.abspath(md_path)) if md_path else os.getcwd()
        parts += ["", f"![throughput and latency]({os.path.relpath(os.path.abspath(png_path), base)})"]
    return "\n".join(parts)


def update_markdown(path, body):
    """Replace the text between the suite markers of ``path`` (append a new
    section with the markers when the file or the markers do not exist yet)."""
    block = f"{START}\n{body}\n{END}"
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    if START in text and END in text and text.index(START) < text.index(END):
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        text = f"{text}{sep}{SECTION_HEADING}\n\n{block}\n"
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def bar_chart(results, path):
    """Two panels, log scale: samples/s per workload and optimizer (the X @ w
    floor as a dashed line over its workload), and the median learn-call
    latency per input and optimizer; one colour per system."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floors = {r["workload"]: r["rate"] for r in results["throughput"] if r["optimizer"] == "-"}
    panels = []
    if results["throughput"]:
        panels.append(("samples/s, one pass (higher is better)", "workload",
                       [(r["workload"], r["optimizer"], r["system"], r["rate"])
                        for r in results["throughput"] if r["optimizer"] != "-"]))
    if results["latency"]:
        panels.append(("median us per learn call (lower is better)", "input",
                       [(r["input"], r["optimizer"], r["system"], r["median_us"])
                        for r in results["latency"] if r["kind"] == "learn"]))
    if not panels:
        return None
    systems = list(dict.fromkeys(s for _, _, cells in panels for _, _, s, _ in cells))
    colors = {s: plt.cm.tab10(i % 10) for i, s in enumerate(systems)}
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.8), squeeze=False)
    for ax, (ylabel, _, cells) in zip(axes[0], panels, strict=False):
        groups = list(dict.fromkeys((a, b) for a, b, _, _ in cells))
        width = 0.8 / max(sum(1 for c in cells if c[:2] == g) for g in groups)
        for gi, group in enumerate(groups):
            members = [(s, v) for a, b, s, v in cells if (a, b) == group]
            for k, (system, value) in enumerate(members):
                ax.bar(gi + (k - (len(members) - 1) / 2) * width, value, width,
                       color=colors[system], label=system)
        if ylabel.startswith("samples"):
            for name, rate in floors.items():
                xs = [gi for gi, g in enumerate(groups) if g[0] == name]
                if xs:
                    ax.hlines(rate, min(xs) - 0.45, max(xs) + 0.45, colors="black",
                              linestyles="dashed", label="X @ w floor")
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f"{a}\n{b}" for a, b in groups], fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", which="major", alpha=0.3)
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=False):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="upper center", ncol=len(handles), fontsize=8,
               frameon=False)
    fig.suptitle(f"streamlr benchmark suite ({cpu_model()}, {os.cpu_count()} cores)", y=0.02,
                 fontsize=9, va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
