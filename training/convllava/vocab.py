"""The closed vocabularies of the demo's questions: colour names, category label sets, the
characters the auxiliary reading heads classify."""
import colorsys

COLOURS = ["red", "green", "blue", "orange", "purple", "yellow", "pink", "gray"]

LETTERS = [chr(ord("A") + i) for i in range(26)]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
YEARS = [str(y) for y in range(2000, 2031)]
LABEL_SETS = {"letters": LETTERS, "months": MONTHS, "weekdays": WEEKDAYS, "years": YEARS}
ALL_LABELS = LETTERS + MONTHS + WEEKDAYS + YEARS
LABEL_ID = {s: i + 1 for i, s in enumerate(ALL_LABELS)}  # 0 = no label
N_LABELS = len(ALL_LABELS) + 1

# characters of the dense reading head (case folded); 0 = no character, last = anything else
CHARSET = list("0123456789abcdefghijklmnopqrstuvwxyz.-/:,#")
CHAR_ID = {c: i + 1 for i, c in enumerate(CHARSET)}
N_CHARS = len(CHARSET) + 2


def char_class(ch):
    return CHAR_ID.get(ch.lower(), N_CHARS - 1) if not ch.isspace() else 0


# characters of the values the form questions ask for; 0 = end of the value
VALUE_CHARS = list("0123456789.-/,")
VALUE_ID = {c: i + 1 for i, c in enumerate(VALUE_CHARS)}
N_VALUE = len(VALUE_CHARS) + 1
VALUE_SLOTS = 12

FORM_FIELDS = ["invoice", "date", "total"]  # the asked fields, in the order of the slot heads
LINE_KINDS = ["none", "header", "invoice", "date", "customer", "items", "total", "other"]

CHART_QUESTIONS = {
    "highest": "Which category has the highest value?",
    "lowest": "Which category has the lowest value?",
    "count": "How many bars are there?",
    "colour": "What color is the bar for {}?",
}
FORM_QUESTIONS = {
    "invoice": "What is the invoice number?",
    "total": "What is the total?",
    "date": "What is the date?",
}
FAMILIES = ["highest", "lowest", "count", "colour", "invoice", "total", "date"]


def hsv(h, s, v):
    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360.0, s, v)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def hexrgb(s):
    s = s.lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


# Shades that plotting tools and office suites use for these names (matplotlib tab10 and CSS names
# are deliberately absent: they belong to the held-out renderer's palette).
CURATED = {
    "red": ["#c0392b", "#e74c3c", "#c44e52", "#d9534f", "#b22222", "#cc0000", "#e41a1c", "#ef3b2c",
            "#a50f15", "#ff0000", "#dc3912", "#c00000", "#e15759", "#f44336", "#d32f2f", "#b71c1c"],
    "green": ["#27ae60", "#2ecc71", "#55a868", "#5cb85c", "#4daf4a", "#70ad47", "#00b050", "#109618",
              "#59a14f", "#31a354", "#006d2c", "#4caf50", "#388e3c", "#1b5e20", "#00cc66", "#3cb44b"],
    "blue": ["#2980b9", "#3498db", "#4c72b0", "#337ab7", "#377eb8", "#4472c4", "#0070c0", "#3366cc",
             "#4e79a7", "#2171b5", "#08519c", "#2196f3", "#1976d2", "#0d47a1", "#5b9bd5", "#0000cc"],
    "orange": ["#e67e22", "#f39c12", "#dd8452", "#f0ad4e", "#ff7f00", "#ed7d31", "#ff9900", "#f28e2b",
               "#fd8d3c", "#e6550d", "#ff9800", "#f57c00", "#ffa500", "#ff8c00", "#f58231", "#ffa15a"],
    "purple": ["#8e44ad", "#9b59b6", "#8172b3", "#984ea3", "#7030a0", "#990099", "#b07aa1", "#756bb1",
               "#54278f", "#9c27b0", "#7b1fa2", "#673ab7", "#911eb4", "#ab63fa", "#6a3d9a", "#800080"],
    "yellow": ["#f1c40f", "#ffd700", "#ffff33", "#ffc000", "#ffff00", "#edc948", "#fecb52", "#ffeb3b",
               "#fdd835", "#fbc02d", "#ffe119", "#f6e000", "#ffdd00", "#e5c100", "#fff200", "#ffd92f"],
    "pink": ["#ff69b4", "#ff9da7", "#da8bc3", "#f781bf", "#e91e63", "#f06292", "#ff66cc", "#ff97ff",
             "#ff6692", "#fbb4ae", "#fa9fb5", "#f768a1", "#ec407a", "#ffb6c1", "#ff8fab", "#fabebe"],
    "gray": ["#7f8c8d", "#95a5a6", "#8c8c8c", "#999999", "#a5a5a5", "#808080", "#bab0ac", "#969696",
             "#737373", "#9e9e9e", "#757575", "#616161", "#aaaaaa", "#888888", "#6e6e6e", "#b0b0b0"],
}


def sample_shade(rng, name):
    """A shade that a person would call `name`: half from the curated list, half from an HSV region
    kept away from the neighbouring names' regions."""
    if rng.random() < 0.45:
        return hexrgb(rng.choice(CURATED[name]))
    u = rng.uniform
    if name == "red":
        return hsv(u(-8, 6), u(0.65, 1.0), u(0.6, 1.0))
    if name == "orange":
        return hsv(u(22, 36), u(0.75, 1.0), u(0.88, 1.0))
    if name == "yellow":
        return hsv(u(47, 60), u(0.65, 1.0), u(0.9, 1.0))
    if name == "green":
        return hsv(u(90, 155), u(0.45, 1.0), u(0.4, 0.85))
    if name == "blue":
        return hsv(u(203, 238), u(0.5, 1.0), u(0.5, 0.95))
    if name == "purple":
        return hsv(u(268, 292), u(0.45, 0.85), u(0.4, 0.8))
    if name == "pink":
        return hsv(u(315, 345), u(0.3, 0.65), u(0.9, 1.0))
    if name == "gray":
        g = u(0.4, 0.75)
        t = u(-0.02, 0.02)
        return hsv(u(0, 360), u(0.0, 0.05), g + t)
    raise ValueError(name)
