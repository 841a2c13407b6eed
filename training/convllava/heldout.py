"""The held-out renderer: charts drawn by matplotlib (its styles, Agg rasteriser, named colours)
and forms typeset by matplotlib in fonts and layouts the training generator never uses. Nothing
here is used in training; it measures how the model does on "other software"."""
import io
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from PIL import Image  # noqa: E402

from . import render  # noqa: E402
from .charts import choose_labels, choose_values, TITLES, AXIS_TITLES  # noqa: E402
from .forms import invoice_number, date_value, total_value, customer_value  # noqa: E402
from .vocab import COLOURS  # noqa: E402

MPL_COLOURS = {
    "red": ["red", "tab:red", "crimson", "firebrick", "darkred", "r", "#e31a1c"],
    "green": ["green", "tab:green", "forestgreen", "seagreen", "limegreen", "darkgreen", "g", "mediumseagreen"],
    "blue": ["blue", "tab:blue", "royalblue", "navy", "steelblue", "dodgerblue", "b", "mediumblue", "cornflowerblue"],
    "orange": ["orange", "tab:orange", "darkorange", "#ff8c1a"],
    "purple": ["purple", "tab:purple", "rebeccapurple", "darkviolet", "mediumpurple", "blueviolet", "darkmagenta"],
    "yellow": ["yellow", "gold", "#ffe135", "#f7d117"],
    "pink": ["pink", "hotpink", "deeppink", "tab:pink", "lightpink", "palevioletred"],
    "gray": ["gray", "grey", "tab:gray", "darkgray", "dimgray", "slategray", "silver"],
}
STYLES = ["default", "default", "default", "ggplot", "bmh", "fivethirtyeight", "seaborn-v0_8",
          "seaborn-v0_8-whitegrid", "seaborn-v0_8-darkgrid", "seaborn-v0_8-white", "seaborn-v0_8-ticks",
          "Solarize_Light2", "classic", "tableau-colorblind10", "fast", "dark_background"]
_FAMILIES = None


def _families():
    """Held-out fonts registered with matplotlib, by family name."""
    global _FAMILIES
    if _FAMILIES is None:
        fams = set()
        for p in render.HELDOUT_FONTS:
            try:
                font_manager.fontManager.addfont(p)
                fams.add(font_manager.FontProperties(fname=p).get_name())
            except Exception:  # noqa: BLE001 - a font matplotlib cannot read is just skipped
                pass
        _FAMILIES = sorted(fams)
    return _FAMILIES


def _to_image(fig, dpi):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    plt.close(fig)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _box(artist, renderer, H):
    b = artist.get_window_extent(renderer)
    return (b.x0, H - b.y1, b.x1, H - b.y0)


def render_chart(rng):
    n = rng.randint(2, 6)
    kind, labels = choose_labels(rng, n)
    colours = rng.sample(COLOURS, n)
    values, scale = choose_values(rng, n)
    vertical = rng.random() < 0.6
    style = rng.choice(STYLES)
    fam = rng.choice(_families() + ["DejaVu Sans"] * 4)
    dpi = rng.choice([60, 72, 80, 96, 100, 110, 150])
    w_in = math.exp(rng.uniform(math.log(3.2), math.log(9)))
    h_in = w_in / math.exp(rng.uniform(math.log(0.7), math.log(1.9)))
    with plt.style.context(style):
        plt.rcParams["font.family"] = fam
        plt.rcParams["font.size"] = rng.uniform(8, 14)
        fig, ax = plt.subplots(figsize=(w_in, h_in), dpi=dpi)
        shades = [rng.choice(MPL_COLOURS[c]) for c in colours]
        x = list(range(n))
        width = rng.uniform(0.5, 0.9)
        edge = rng.choice([None, None, None, "black", "white"])
        if vertical:
            bars = ax.bar(x, values, width=width, color=shades, edgecolor=edge)
            ax.set_xticks(x)
            ax.set_xticklabels(labels, rotation=rng.choice([0, 0, 0, 0, 45, 90]))
        else:
            bars = ax.barh(x, values, height=width, color=shades, edgecolor=edge)
            ax.set_yticks(x)
            ax.set_yticklabels(labels)
            if rng.random() < 0.5:
                ax.invert_yaxis()
        if rng.random() < 0.6:
            ax.set_title(rng.choice(TITLES))
        if rng.random() < 0.4:
            (ax.set_ylabel if vertical else ax.set_xlabel)(rng.choice(AXIS_TITLES))
        if rng.random() < 0.25:
            ax.bar_label(bars, fmt="%.0f" if scale >= 10 else "%.1f", fontsize=plt.rcParams["font.size"] * 0.8)
        if rng.random() < 0.3:
            ax.grid(axis="y" if vertical else "x", alpha=rng.uniform(0.3, 1))
            ax.set_axisbelow(True)
        if rng.random() < 0.3:
            for s in ("top", "right"):
                ax.spines[s].set_visible(False)
        fig.tight_layout()
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        W, H = fig.canvas.get_width_height()
        boxes = [_box(b, r, H) for b in bars]
        ticks = ax.get_xticklabels() if vertical else ax.get_yticklabels()
        texts = [{"text": t.get_text(), "box": _box(t, r, H), "chars": [], "role": "tick", "label": t.get_text()}
                 for t in ticks if t.get_text()]
        img = _to_image(fig, dpi)
    sx, sy = img.size[0] / W, img.size[1] / H
    boxes = [(a * sx, b * sy, c * sx, d * sy) for a, b, c, d in boxes]
    for t in texts:
        a, b, c, d = t["box"]
        t["box"] = (a * sx, b * sy, c * sx, d * sy)
    bar_anns = [{"label": labels[i], "colour": colours[i], "value": values[i], "box": boxes[i]} for i in range(n)]
    ann = {"kind": "chart", "orientation": "v" if vertical else "h", "labels": labels, "label_set": kind,
           "colours": colours, "values": values, "bars": bar_anns, "texts": texts, "size": img.size,
           "renderer": "matplotlib:" + style}
    return img, ann


HELD_KEYS = {
    "invoice": ["Invoice Number:", "Invoice no:", "Invoice No.", "Inv #:", "INVOICE NUMBER"],
    "date": ["Date:", "Invoice Date:", "DATE", "Dated:"],
    "total": ["Total:", "TOTAL AMOUNT:", "Total Due:", "Balance due:", "TOTAL"],
    "customer": ["Customer:", "Billed to:", "Client name:"],
    "items": ["Items:", "Number of items:", "Qty:"],
}


def render_form(rng):
    fields = [("invoice", rng.choice(HELD_KEYS["invoice"]), invoice_number(rng)),
              ("date", rng.choice(HELD_KEYS["date"]), date_value(rng)),
              ("total", rng.choice(HELD_KEYS["total"]), total_value(rng))]
    for e in rng.sample(["customer", "items"], rng.choice([1, 2])):
        fields.append((e, rng.choice(HELD_KEYS[e]), customer_value(rng) if e == "customer" else str(rng.randint(1, 40))))
    rng.shuffle(fields)
    fam = rng.choice(_families())
    dpi = rng.choice([72, 80, 96, 100, 120])
    w_in = rng.uniform(3.0, 8.5)
    h_in = w_in * rng.uniform(0.5, 1.6)
    size = rng.uniform(9, 16) * max(1.0, max(w_in, h_in) / 7)
    layout = rng.choice(["inline", "columns", "boxed"])
    bg = rng.choice(["white", "white", "#fbfaf5", "#f4f6fb", "#fffdf0"])
    fig = plt.figure(figsize=(w_in, h_in), dpi=dpi, facecolor=bg)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    W, H = fig.canvas.get_width_height()
    ink = rng.choice(["black", "#222222", "#1a2a5a", "#333333"])
    header = rng.choice(["INVOICE", "Invoice", "Receipt", "SALES RECEIPT", "Statement", "Acme Ltd"])
    line_step = size * rng.uniform(1.5, 2.4) / 72 / h_in
    y = rng.uniform(0.8, 0.92)
    fit = (y - 0.06) / (len(fields) + 1.8)
    if line_step > fit:  # every line on the page
        size *= fit / line_step
        line_step = fit
    x0 = rng.uniform(0.06, 0.15)
    ht = fig.text(x0 if rng.random() < 0.6 else 0.5, y, header, fontsize=size * rng.uniform(1.3, 1.9), family=fam,
                  weight=rng.choice(["bold", "normal"]), color=ink, ha="left" if rng.random() < 0.6 else "center",
                  va="center")
    y -= line_step * 1.8
    items = []
    for field, key, value in fields:
        if layout == "inline":
            kt = fig.text(x0, y, key, fontsize=size, family=fam, color=ink, va="center")
            fig.canvas.draw()
            kb = kt.get_window_extent(r)
            vt = fig.text((kb.x1 + size * 0.5 * dpi / 72) / W, y, value, fontsize=size, family=fam, color=ink,
                          va="center", weight=rng.choice(["normal", "normal", "bold"]))
        else:
            kt = fig.text(x0, y, key, fontsize=size, family=fam, color=ink, va="center",
                          weight=rng.choice(["normal", "bold"]))
            vt = fig.text(1 - x0, y, value, fontsize=size, family=fam, color=ink, va="center", ha="right")
        items.append((field, key, value, kt, vt, y))
        y -= line_step
    if layout == "boxed":
        top = items[0][5] + line_step / 2
        bot = items[-1][5] - line_step / 2
        fig.add_artist(plt.Rectangle((x0 - 0.02, bot), 1 - 2 * x0 + 0.04, top - bot, fill=False, color=ink,
                                     transform=fig.transFigure, lw=1))
        for it in items[:-1]:
            fig.add_artist(plt.Line2D([x0 - 0.02, 1 - x0 + 0.02], [it[5] - line_step / 2] * 2, color=ink, lw=0.6,
                                      transform=fig.transFigure))
    fig.canvas.draw()
    lines = []
    texts = [{"text": header, "box": _box(ht, r, H), "chars": [], "role": "header"}]
    for field, key, value, kt, vt, _ in items:
        kb, vb = _box(kt, r, H), _box(vt, r, H)
        box = (min(kb[0], vb[0]), min(kb[1], vb[1]), max(kb[2], vb[2]), max(kb[3], vb[3]))
        lines.append({"field": field, "key": key, "value": value, "box": box, "value_box": vb})
        texts.append({"text": key + " " + value, "box": box, "chars": [], "role": "line"})
    img = _to_image(fig, dpi)
    sx, sy = img.size[0] / W, img.size[1] / H
    for ln in lines:
        ln["box"] = tuple(v * (sx if i % 2 == 0 else sy) for i, v in enumerate(ln["box"]))
    for t in texts:
        t["box"] = tuple(v * (sx if i % 2 == 0 else sy) for i, v in enumerate(t["box"]))
    ann = {"kind": "form", "lines": lines, "texts": texts, "size": img.size, "layout": "mpl-" + layout,
           "values": {f: v for f, _, v, *_ in items if f in ("invoice", "date", "total")}, "renderer": "matplotlib"}
    return img, ann
