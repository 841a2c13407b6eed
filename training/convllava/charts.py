"""The training generator's bar charts, drawn with PIL in many styles (backgrounds, grids, spines,
titles, legends, value labels, fonts, sizes, aspect ratios, orientations). Every chart comes with
its annotation: the bars' boxes, labels, colours and values and every text's character boxes, in
image pixels, from which the tower's per-cell targets are made."""
import math

from PIL import Image, ImageDraw

from . import render
from .vocab import COLOURS, LABEL_SETS, sample_shade

TITLES = ["Sales by category", "Quarterly revenue", "Monthly visitors", "Results", "Survey answers",
          "Downloads", "Revenue (k$)", "Units sold", "Average score", "Website traffic", "Expenses",
          "Production output", "Number of orders", "Energy use", "Rainfall", "Team performance",
          "Customer ratings", "Annual growth", "Tickets closed", "Inventory", "Population", "Votes",
          "Bar chart", "Comparison", "Distribution by group", "Weekly summary", "Market share",
          "Sales 2023", "Budget overview", "Test results", "Page views per day", "Yearly totals"]
AXIS_TITLES = ["Value", "Count", "Sales", "Amount", "Score", "Units", "Revenue", "Total", "Frequency",
               "Percent", "Millions", "Hours", "Number", "USD", "Visits"]
CAT_TITLES = {"letters": ["Category", "Group", "Item", "Product", "Class"],
              "months": ["Month", "Month of year", "Period"],
              "weekdays": ["Day", "Weekday", "Day of week"],
              "years": ["Year", "Fiscal year", "Period"]}


def choose_labels(rng, n):
    kind = rng.choice(list(LABEL_SETS))
    pool = LABEL_SETS[kind]
    r = rng.random()
    if r < 0.55:  # consecutive run, as most charts are
        start = rng.randint(0, len(pool) - n)
        labels = pool[start:start + n]
    else:
        idx = sorted(rng.sample(range(len(pool)), n))
        labels = [pool[i] for i in idx]
        if r > 0.88:
            rng.shuffle(labels)
    return kind, labels


def choose_values(rng, n):
    """Values with a unique maximum and minimum, separated enough to be told apart by eye."""
    scale = rng.choice([100, 100, 100, 10, 1000, 10000, 1, 5, 50])
    for _ in range(100):
        lo = rng.uniform(0.04, 0.5)
        vals = [rng.uniform(lo, 1.0) for _ in range(n)]
        s = sorted(vals)
        span = s[-1]
        if n == 2:
            if s[1] - s[0] >= 0.12 * span:
                break
        elif s[-1] - s[-2] >= 0.07 * span and s[1] - s[0] >= 0.07 * span and s[0] >= 0.05 * span:
            break
    return [v * scale for v in vals], scale


def nice_axis(vmax, rng):
    """Upper limit and tick step as plotting tools pick them."""
    target = rng.choice([4, 5, 5, 6, 8])
    raw = vmax / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            step = m * mag
            break
    top = step * math.ceil(vmax * rng.uniform(1.0, 1.15) / step)
    return top, step


def fmt_tick(v, step):
    if step >= 1:
        return f"{int(round(v)):,}" if v >= 10000 else str(int(round(v)))
    digits = max(0, -int(math.floor(math.log10(step))))
    return f"{v:.{digits}f}"


def fmt_value(v, scale, rng):
    if scale >= 10:
        return str(int(round(v))) if rng.random() < 0.8 else f"{v:.1f}"
    return f"{v:.1f}" if rng.random() < 0.7 else f"{v:.2f}"


def _palette_scheme(rng):
    """Figure background, panel background, text colour, grid colour, axis colour."""
    r = rng.random()
    if r < 0.45:
        return (255, 255, 255), (255, 255, 255), (0, 0, 0), (220, 220, 220), (0, 0, 0)
    if r < 0.58:  # ggplot-like grey panel, white grid
        g = rng.randint(225, 240)
        return (255, 255, 255), (g, g, g), (60, 60, 60), (255, 255, 255), (g, g, g)
    if r < 0.66:  # plotly-like bluish panel
        return (255, 255, 255), (229, 236, 246), (42, 63, 95), (255, 255, 255), (229, 236, 246)
    if r < 0.80:  # off-white, cream, light tints
        t = tuple(rng.randint(236, 255) for _ in range(3))
        return t, t, (rng.randint(0, 70),) * 3, (rng.randint(190, 225),) * 3, (rng.randint(0, 90),) * 3
    if r < 0.90:
        g = rng.randint(238, 250)
        return (g, g, g), (255, 255, 255), (30, 30, 30), (225, 225, 225), (90, 90, 90)
    # dark themes
    d = rng.randint(15, 50)
    return (d, d, d + rng.randint(0, 10)), (d, d, d + rng.randint(0, 10)), (235, 235, 235), \
        (d + 35, d + 35, d + 35), (200, 200, 200)


def render_chart(rng, size=None):
    """One bar chart: returns (PIL image, annotation)."""
    n = rng.randint(2, 6)
    kind, labels = choose_labels(rng, n)
    colours = rng.sample(COLOURS, n)
    values, scale = choose_values(rng, n)
    vertical = rng.random() < 0.6

    if size is None:
        w = int(math.exp(rng.uniform(math.log(300), math.log(1300))))
        aspect = math.exp(rng.uniform(math.log(0.6), math.log(2.0)))
        h = int(min(1300, max(220, w / aspect)))
        size = (w, h)
    W, H = size
    fig_bg, panel_bg, txt, grid_c, axis_c = _palette_scheme(rng)
    shades = [sample_shade(rng, c) for c in colours]
    if sum(fig_bg) < 300:  # dark theme: keep gray bars visible
        shades = [s if c != "gray" else sample_shade(rng, "gray") for s, c in zip(shades, colours)]

    img = Image.new("RGB", (W, H), fig_bg)
    d = ImageDraw.Draw(img)
    fpath = rng.choice(render.TRAIN_FONTS)
    tpath = fpath if rng.random() < 0.6 else rng.choice(render.TRAIN_FONTS)
    # the font size is drawn in canvas pixels (what the tower sees after the resize to 512), then
    # scaled to this image
    base = rng.triangular(7, 19, 10.5) * max(W, H) / 512
    base = max(7, min(base, min(W, H) / 12))
    f_tick = render.font(fpath, base)
    f_title = render.font(tpath, base * rng.uniform(1.1, 1.6))
    f_axis = render.font(fpath, base * rng.uniform(0.9, 1.15))
    f_val = render.font(fpath, base * rng.uniform(0.75, 1.0))
    texts = []

    def text(xy, s, fnt, role, label=None, anchor="la", fill=txt):
        box, chars = render.draw_text(d, xy, s, fnt, fill, anchor)
        texts.append({"text": s, "box": box, "chars": chars, "role": role, "label": label})
        return box

    # margins
    top = int(H * rng.uniform(0.03, 0.06))
    title = rng.random() < 0.65
    if title:
        t = rng.choice(TITLES)
        tw, th = render.text_size(f_title, t)
        if tw < W * 0.9:
            align = rng.choice(["c", "c", "l"])
            x = W / 2 if align == "c" else W * rng.uniform(0.03, 0.1)
            text((x, top), t, f_title, "title", anchor="ma" if align == "c" else "la")
            top += th + int(base * rng.uniform(0.6, 1.5))
        else:
            title = False
    label_w = max(render.text_size(f_tick, s)[0] for s in labels)
    tick_top = top
    top_value = values and max(values)
    vtop, vstep = nice_axis(top_value, rng)
    ticks = [i * vstep for i in range(int(round(vtop / vstep)) + 1)]
    tick_strs = [fmt_tick(v, vstep) for v in ticks]
    show_value_axis = rng.random() < 0.85
    axis_title = rng.random() < 0.4
    cat_title = rng.random() < 0.3
    rotate = vertical and rng.random() < 0.12
    legend = rng.random() < 0.1
    value_labels = rng.random() < 0.25

    vt_w = max(render.text_size(f_tick, s)[0] for s in tick_strs) if show_value_axis else 0
    line_h = render.text_size(f_tick, "0Ag")[1]
    if vertical:
        left = int(W * rng.uniform(0.02, 0.05)) + (vt_w + int(base * 0.6) if show_value_axis else 0) \
            + (int(line_h * 1.6) if axis_title else 0)
        bottom = int(H * rng.uniform(0.02, 0.05)) + int(line_h * 1.5) + (int(line_h * 1.5) if cat_title else 0)
        if rotate:
            bottom += int(label_w * 0.75)
        right = int(W * rng.uniform(0.03, 0.08))
    else:
        left = int(W * rng.uniform(0.02, 0.05)) + label_w + int(base * 0.7) + (int(line_h * 1.6) if cat_title else 0)
        bottom = int(H * rng.uniform(0.02, 0.05)) + (int(line_h * 1.6) if show_value_axis else 0) \
            + (int(line_h * 1.5) if axis_title else 0)
        right = int(W * rng.uniform(0.04, 0.1))
    if legend:
        leg_w = label_w + int(base * 3)
        right += leg_w + int(base)
    top = max(top, int(H * 0.04)) + (int(line_h * 1.2) if value_labels and vertical else 0)
    px0, py0, px1, py1 = left, top, W - right, H - bottom
    if px1 - px0 < 60 or py1 - py0 < 60:
        return render_chart(rng, (int(W * 1.3), int(H * 1.3)))
    d.rectangle([px0, py0, px1, py1], fill=panel_bg)

    # grid lines along the value axis
    grid = rng.random() < 0.55 or panel_bg != fig_bg
    dashed = rng.random() < 0.3
    gw = max(1, int(base / 14 * rng.uniform(0.6, 1.4)))

    def vpos(v):
        return (py1 - (py1 - py0) * v / vtop) if vertical else (px0 + (px1 - px0) * v / vtop)

    for v, s in zip(ticks, tick_strs):
        p = vpos(v)
        if grid and v > 0:
            if vertical:
                if dashed:
                    for x in range(px0, px1, 8):
                        d.line([(x, p), (min(x + 4, px1), p)], fill=grid_c, width=gw)
                else:
                    d.line([(px0, p), (px1, p)], fill=grid_c, width=gw)
            else:
                if dashed:
                    for y in range(py0, py1, 8):
                        d.line([(p, y), (p, min(y + 4, py1))], fill=grid_c, width=gw)
                else:
                    d.line([(p, py0), (p, py1)], fill=grid_c, width=gw)
        if show_value_axis:
            if vertical:
                text((px0 - int(base * 0.5), p), s, f_tick, "tick_value", anchor="rm")
            else:
                text((p, py1 + int(base * 0.4)), s, f_tick, "tick_value", anchor="ma")

    # bars
    slot = ((px1 - px0) if vertical else (py1 - py0)) / n
    frac = rng.uniform(0.45, 0.9)
    edge = rng.random() < 0.25
    edge_c = rng.choice([(0, 0, 0), (40, 40, 40), (255, 255, 255), None])
    edge_w = max(1, int(base / 12 * rng.uniform(0.7, 2)))
    rounded = rng.random() < 0.08
    reverse = (not vertical) and rng.random() < 0.5  # barh draws the first category at the bottom
    bars = []
    for i in range(n):
        j = (n - 1 - i) if reverse else i
        c0 = (px0 if vertical else py0) + slot * j + slot * (1 - frac) / 2
        c1 = c0 + slot * frac
        vp = vpos(values[i])
        if vertical:
            box = (int(round(c0)), int(round(vp)), int(round(c1)), py1)
        else:
            box = (px0, int(round(c0)), int(round(vp)), int(round(c1)))
        ec = (edge_c or tuple(max(0, int(x * 0.6)) for x in shades[i])) if edge else None
        if rounded:
            d.rounded_rectangle(box, radius=max(2, int(slot * frac * 0.12)), fill=shades[i],
                                outline=ec, width=edge_w if edge else 0)
        else:
            d.rectangle(box, fill=shades[i], outline=ec, width=edge_w if edge else 0)
        bars.append({"label": labels[i], "colour": colours[i], "value": values[i], "box": box})
        # the category label
        mid = (c0 + c1) / 2
        if vertical:
            if rotate:
                ang = rng.choice([30, 45, 90]) if i == 0 else ang
                tb = render.draw_rotated_text(img, (mid, py1 + int(base * 0.4)), labels[i], f_tick, txt, ang,
                                              "right-top" if ang != 90 else "center-top")
                texts.append({"text": labels[i], "box": tb, "chars": [], "role": "tick", "label": labels[i]})
            else:
                text((mid, py1 + int(base * 0.4)), labels[i], f_tick, "tick", labels[i], anchor="ma")
        else:
            text((px0 - int(base * 0.5), mid), labels[i], f_tick, "tick", labels[i], anchor="rm")
        if value_labels:
            s = fmt_value(values[i], scale, rng)
            if vertical:
                text((mid, box[1] - int(base * 0.25)), s, f_val, "value", anchor="md")
            else:
                text((box[2] + int(base * 0.3), mid), s, f_val, "value", anchor="lm")

    # spines
    spine = rng.choice(["box", "lb", "lb", "b", "none"])
    sw = max(1, int(base / 14 * rng.uniform(0.7, 1.6)))
    if spine == "box":
        d.rectangle([px0, py0, px1, py1], outline=axis_c, width=sw)
    elif spine in ("lb", "b"):
        if vertical or spine == "lb":
            d.line([(px0, py1), (px1, py1)], fill=axis_c, width=sw)
        if spine == "lb" or not vertical:
            d.line([(px0, py0), (px0, py1)], fill=axis_c, width=sw)
    if rng.random() < 0.3 and show_value_axis:  # tick marks
        for v in ticks:
            p = vpos(v)
            if vertical:
                d.line([(px0 - int(base * 0.3), p), (px0, p)], fill=axis_c, width=sw)
            else:
                d.line([(p, py1), (p, py1 + int(base * 0.3))], fill=axis_c, width=sw)

    # axis titles
    if axis_title:
        s = rng.choice(AXIS_TITLES)
        if vertical:
            tb = render.draw_rotated_text(img, (int(W * 0.015) + line_h, (py0 + py1) / 2), s, f_axis, txt, 90, "right-middle")
            texts.append({"text": s, "box": tb, "chars": [], "role": "axis", "label": None})
        else:
            text(((px0 + px1) / 2, H - int(H * 0.015)), s, f_axis, "axis", anchor="md")
    if cat_title:
        s = rng.choice(CAT_TITLES[kind])
        if vertical:
            text(((px0 + px1) / 2, H - int(H * 0.012)), s, f_axis, "axis", anchor="md")
        else:
            tb = render.draw_rotated_text(img, (int(W * 0.012) + line_h, (py0 + py1) / 2), s, f_axis, txt, 90, "right-middle")
            texts.append({"text": s, "box": tb, "chars": [], "role": "axis", "label": None})

    if legend:
        lx = W - right + int(base * 0.8)
        ly = py0 + int(base * 0.5)
        sq = int(line_h * 0.9)
        for i in range(n):
            d.rectangle([lx, ly, lx + sq, ly + sq], fill=shades[i])
            text((lx + sq + int(base * 0.4), ly + sq / 2), labels[i], f_tick, "legend", labels[i], anchor="lm")
            ly += int(line_h * 1.5)

    img = render.degrade(img, rng)
    ann = {"kind": "chart", "orientation": "v" if vertical else "h", "labels": labels, "label_set": kind,
           "colours": colours, "values": values, "bars": bars, "texts": texts, "size": (W, H),
           "renderer": "pil"}
    return img, ann
