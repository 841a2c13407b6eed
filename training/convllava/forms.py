"""The training generator's invoices and receipts (PIL): a header and 4-7 "key: value" lines in
varied order, layouts (inline, two columns, ruled table, centred receipt), fonts, sizes and papers.
The annotation keeps every line's field, value and character boxes."""
import math

from PIL import Image, ImageDraw

from . import render

HEADERS = ["INVOICE", "Invoice", "RECEIPT", "Receipt", "Tax Invoice", "SALES RECEIPT", "Sales Invoice",
           "ACME Ltd", "Northwind Traders", "Blue Sky Cafe", "City Hardware", "Invoice / Receipt",
           "Globex Corporation", "Order Receipt", "Bill", "Cash Receipt", "Payment Receipt", "Greenleaf Market"]
KEYS = {
    "invoice": ["Invoice no:", "Invoice No:", "Invoice No.", "Invoice number:", "Invoice #", "INVOICE NO:",
                "Invoice no.:", "Invoice Nr:", "Invoice ID:", "INVOICE #"],
    "date": ["Date:", "DATE:", "Invoice date:", "Date of issue:", "Issued:", "Date", "Issue date:"],
    "total": ["Total:", "TOTAL:", "Total due:", "Amount due:", "Grand total:", "Total amount:", "TOTAL",
              "Total"],
    "customer": ["Customer:", "Bill to:", "Client:", "CUSTOMER:", "Sold to:", "Customer name:"],
    "items": ["Items:", "Qty:", "Quantity:", "No. of items:", "Items purchased:", "ITEMS:"],
    "other": ["Subtotal:", "Tax:", "VAT:", "Phone:", "Cashier:", "Store:", "Table:", "Order no:"],
}
COMPANY_A = ["ACME", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
             "Cyberdyne", "Wonka", "Tyrell", "Oceanic", "Pied Piper", "Dunder", "Gringotts", "Monarch",
             "Nakatomi", "Bluth", "Prestige", "Sterling", "Vehement", "Massive", "Aperture", "Black Mesa"]
COMPANY_B = ["Ltd", "Corp", "Inc", "LLC", "GmbH", "Co", "Group", "Industries", "Trading", "Supplies",
             "& Sons", "Partners", "Services", "AG", "SA"]
PEOPLE = ["John Smith", "Maria Garcia", "Li Wei", "Anna Muller", "James Brown", "Sara Rossi",
          "Ahmed Khan", "Emma Wilson", "Yuki Tanaka", "Olga Ivanova", "Carlos Silva", "Fatima Diallo"]


def invoice_number(rng):
    n = rng.choice([5, 5, 5, 4, 6, 6, 7])
    return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def date_value(rng):
    y, m, d = rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28)
    r = rng.random()
    if r < 0.65:
        return f"{y:04d}-{m:02d}-{d:02d}"
    if r < 0.77:
        return f"{d:02d}/{m:02d}/{y:04d}"
    if r < 0.85:
        return f"{m:02d}/{d:02d}/{y:04d}"
    if r < 0.95:
        return f"{d:02d}.{m:02d}.{y:04d}"
    return f"{y:04d}/{m:02d}/{d:02d}"


def total_value(rng):
    v = math.exp(rng.uniform(math.log(1.5), math.log(25000)))
    s = f"{v:.2f}"
    if v >= 1000 and rng.random() < 0.3:
        s = f"{v:,.2f}"
    return s


def other_value(rng, key):
    if key.startswith(("Subtotal", "Tax", "VAT")):
        return total_value(rng)
    if key.startswith("Phone"):
        return f"555-{rng.randint(0, 9999):04d}"
    if key.startswith("Order"):
        return str(rng.randint(100, 99999))
    if key.startswith("Table"):
        return str(rng.randint(1, 40))
    return rng.choice(PEOPLE).split()[0]


def customer_value(rng):
    if rng.random() < 0.7:
        return f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"
    return rng.choice(PEOPLE)


def form_fields(rng):
    """The lines of one form: the three asked fields, one or two of customer/items, sometimes a
    distractor, in varied order."""
    fields = [("invoice", rng.choice(KEYS["invoice"]), invoice_number(rng)),
              ("date", rng.choice(KEYS["date"]), date_value(rng)),
              ("total", rng.choice(KEYS["total"]), total_value(rng))]
    extra = rng.sample(["customer", "items"], rng.choice([1, 2, 2]))
    for e in extra:
        fields.append((e, rng.choice(KEYS[e]), customer_value(rng) if e == "customer" else str(rng.randint(1, 30))))
    if rng.random() < 0.15:
        k = rng.choice(KEYS["other"])
        fields.append(("other", k, other_value(rng, k)))
    rng.shuffle(fields)
    if rng.random() < 0.5:  # a common order: number and date first, total last
        order = {"invoice": 0, "date": 1, "customer": 2, "items": 3, "other": 4, "total": 5}
        fields.sort(key=lambda f: order[f[0]])
    return fields


def render_form(rng, size=None):
    fields = form_fields(rng)
    style = rng.choice(["receipt", "invoice", "invoice", "card"])
    if size is None:
        if style == "receipt":
            w = rng.randint(260, 560)
            h = int(w * rng.uniform(1.1, 2.4))
        elif style == "invoice":
            w = rng.randint(420, 1200)
            h = int(w * rng.uniform(0.6, 1.45))
        else:
            w = rng.randint(300, 800)
            h = int(w * rng.uniform(0.45, 1.0))
        size = (w, h)
    W, H = size
    fpath = rng.choice(render.TRAIN_FONTS)
    kpath = fpath if rng.random() < 0.6 else rng.choice(render.TRAIN_FONTS)
    hpath = rng.choice(render.TRAIN_FONTS)
    n_lines = len(fields) + 1
    # font size drawn in canvas pixels (what the tower sees at 512), limited by the page height
    size_c = rng.triangular(7.5, 20, 11)
    base = size_c * max(W, H) / 512
    gap = rng.uniform(1.35, 2.6)
    avail = H * rng.uniform(0.6, 0.9)
    base = max(7, min(base, avail / (n_lines * gap + 1.2)))
    f_val = render.font(fpath, base)
    f_key = render.font(kpath, base)
    f_head = render.font(hpath, base * rng.uniform(1.2, 2.0))
    margin_x = int(W * rng.uniform(0.05, 0.14))
    layout = rng.choice(["inline", "inline", "columns", "table", "centre"] if style != "invoice"
                        else ["inline", "inline", "columns", "columns", "table"])
    key_w = max(f_key.getlength(k) for _, k, _ in fields)
    val_w = max(f_val.getlength(v) for _, _, v in fields)
    col_gap = base * rng.uniform(1, 3)
    need = max(key_w + val_w + (col_gap if layout in ("columns", "table") else base * 0.6),
               f_head.getlength(rng.choice(HEADERS)))
    if need > W - 2 * margin_x:  # widen the page rather than run off it
        W = int(need + 2 * margin_x + base)
    r = rng.random()
    if r < 0.6:
        paper = (255, 255, 255)
    elif r < 0.85:
        paper = tuple(rng.randint(238, 255) for _ in range(3))
    else:
        paper = (rng.randint(225, 250), rng.randint(220, 245), rng.randint(200, 235))
    ink = rng.choice([(0, 0, 0), (20, 20, 20), (40, 40, 40), (20, 30, 80), (60, 60, 60)])
    img = Image.new("RGB", (W, H), paper)
    d = ImageDraw.Draw(img)
    texts, lines = [], []

    line_h = render.text_size(f_val, "0Ag")[1]
    step = line_h * gap
    block_h = step * len(fields) + render.text_size(f_head, "Ag")[1] * 1.8
    y = max(int(H * 0.04), int((H - block_h) * rng.uniform(0.05, 0.6)))

    # decorations
    if rng.random() < 0.25:
        band = tuple(rng.randint(30, 200) for _ in range(3))
        d.rectangle([0, 0, W, int(y + render.text_size(f_head, "Ag")[1] * 1.5)], fill=band)
        head_c = (255, 255, 255) if sum(band) < 400 else (0, 0, 0)
    else:
        head_c = ink
    if rng.random() < 0.3:
        bw = max(1, int(base / 8))
        m = int(min(W, H) * 0.02)
        d.rectangle([m, m, W - m, H - m], outline=ink, width=bw)

    header = rng.choice([h for h in HEADERS if f_head.getlength(h) < W - 2 * margin_x] or ["Bill"])
    hx = W / 2 if layout == "centre" or rng.random() < 0.35 else margin_x
    box, chars = render.draw_text(d, (hx, y), header, f_head, head_c, "ma" if hx == W / 2 else "la")
    texts.append({"text": header, "box": box, "chars": chars, "role": "header"})
    y = box[3] + step * rng.uniform(0.8, 1.6)
    if rng.random() < 0.35:
        d.line([(margin_x, y - step * 0.45), (W - margin_x, y - step * 0.45)], fill=ink, width=max(1, int(base / 10)))

    col_x = margin_x + key_w + col_gap
    right_align = rng.random() < 0.4
    if layout == "table":
        x_split = col_x - base * 0.5
        tb_top = y - step * 0.5
    for field, key, value in fields:
        if layout in ("inline", "centre"):
            sep = " " if key.endswith((":", ".", "#")) else rng.choice([": ", " "])
            s = key + sep + value
            anchor = "mm" if layout == "centre" else "lm"
            x = W / 2 if layout == "centre" else margin_x
            if f_key.path == f_val.path:
                box, chars = render.draw_text(d, (x, y), s, f_val, ink, anchor)
                kchars, vchars = chars[:len(key.replace(" ", ""))], chars[len(key.replace(" ", "")):]
                vbox = (vchars[0][1], box[1], vchars[-1][3], box[3])
            else:
                # key in its own face: draw key then value after it
                kw = f_key.getlength(key + sep)
                vw = f_val.getlength(value)
                x0 = x - (kw + vw) / 2 if layout == "centre" else x
                kbox, kchars = render.draw_text(d, (x0, y), key, f_key, ink, "lm")
                vbox, vchars = render.draw_text(d, (x0 + kw, y), value, f_val, ink, "lm")
                box = (min(kbox[0], vbox[0]), min(kbox[1], vbox[1]), max(kbox[2], vbox[2]), max(kbox[3], vbox[3]))
                chars = kchars + vchars
        else:
            kbox, kchars = render.draw_text(d, (margin_x, y), key, f_key, ink, "lm")
            if right_align or layout == "table" and rng.random() < 0.5:
                vx, anchor = W - margin_x, "rm"
            else:
                vx, anchor = col_x, "lm"
            vbox, vchars = render.draw_text(d, (vx, y), value, f_val, ink, anchor)
            box = (min(kbox[0], vbox[0]), min(kbox[1], vbox[1]), max(kbox[2], vbox[2]), max(kbox[3], vbox[3]))
            chars = kchars + vchars
        texts.append({"text": key + " " + value, "box": box, "chars": chars, "role": "line"})
        lines.append({"field": field, "key": key, "value": value, "box": box, "value_box": vbox})
        if layout == "table":
            d.line([(margin_x - base * 0.5, y + step / 2), (W - margin_x + base * 0.5, y + step / 2)], fill=ink, width=1)
        y += step
    if layout == "table":
        d.rectangle([margin_x - base * 0.5, tb_top, W - margin_x + base * 0.5, y - step / 2], outline=ink, width=1)
        d.line([(x_split, tb_top), (x_split, y - step / 2)], fill=ink, width=1)
    if rng.random() < 0.3:
        foot = rng.choice(["Thank you!", "Thank you for your business", "Please pay within 30 days",
                           "www.example.com", "Keep this receipt"])
        if y + line_h < H:
            box, chars = render.draw_text(d, (W / 2, min(H - line_h, y + step)), foot, f_val, ink, "mm")
            texts.append({"text": foot, "box": box, "chars": chars, "role": "footer"})

    img = render.degrade(img, rng)
    ann = {"kind": "form", "lines": lines, "texts": texts, "size": (W, H), "layout": layout,
           "values": {f: v for f, _, v in fields if f in ("invoice", "date", "total")}, "renderer": "pil"}
    return img, ann
