"""Shared drawing helpers of the training generator (PIL): fonts, text with per-character boxes,
rotated text, photo-like degradations."""
import glob
import io
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Fonts the training generator may use. The held-out renderer's fonts (HELDOUT_FONT_DIRS) are
# never drawn in training, so the other-renderer score measures unseen typefaces too.
TRAIN_FONT_GLOBS = [
    "/usr/share/fonts/truetype/dejavu/DejaVu*.ttf",
    "/usr/share/fonts/truetype/liberation/*.ttf",
    "/usr/share/fonts/truetype/freefont/*.ttf",
    "/usr/share/fonts/truetype/crosextra/*.ttf",
    "/usr/share/fonts/truetype/inconsolata/*.otf",
    "/usr/share/fonts/truetype/hack/*.ttf",
    "/usr/share/fonts/truetype/firacode/*.ttf",
    "/usr/share/fonts/truetype/open-sans/*.ttf",
    "/usr/share/fonts/truetype/oxygen/*.ttf",
    "/usr/share/fonts/truetype/droid/*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerif-*.ttf",
    "/usr/share/fonts/truetype/noto/NotoMono-*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-*.ttf",
    "/usr/share/fonts/opentype/urw-base35/*.otf",
    "/usr/share/texmf/fonts/opentype/public/tex-gyre/*.otf",
    "/usr/share/fonts/opentype/comic-neue/*.otf",
]
HELDOUT_FONT_GLOBS = [
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/*.ttf",
    "/usr/share/fonts/truetype/roboto/*/*.ttf",
    "/usr/share/fonts/truetype/lato/*.ttf",
    "/usr/share/fonts/truetype/quicksand/*.ttf",
    "/usr/share/fonts/opentype/cantarell/*.otf",
    "/usr/share/fonts/opentype/linux-libertine/*.otf",
    "/usr/share/fonts/fonts-go/*.ttf",
]
SKIP = ("Math", "chorus", "Keyboard", "_K.otf", "Initials", "Smallcaps", "Symbol", "Dingbat", "Z003", "D050000L", "Hairline", "Thin", "ExtraLight", "Oblique-")


def _collect(globs):
    out = []
    for g in globs:
        for p in sorted(glob.glob(g)):
            name = os.path.basename(p)
            if any(s in name for s in SKIP) or p in out:
                continue
            out.append(p)
    return out


NEEDED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,:-/#"


def _usable(path):
    """Fonts with real glyphs for every character we draw (drops symbol, keycap and initials fonts)."""
    try:
        from fontTools.ttLib import TTFont
        cmap = TTFont(path, fontNumber=0, lazy=True).getBestCmap() or {}
        if not all(ord(c) in cmap for c in NEEDED):
            return False
        f = ImageFont.truetype(path, 20)
        return f.getlength("0123456789") > 40 and f.getbbox("Ag")[3] > 10
    except Exception:  # noqa: BLE001 - unreadable font files are skipped
        return False


TRAIN_FONTS = [p for p in _collect(TRAIN_FONT_GLOBS) if _usable(p)]
HELDOUT_FONTS = [p for p in _collect(HELDOUT_FONT_GLOBS) if _usable(p) and p not in TRAIN_FONTS]
_FONT_CACHE = {}


def font(path, size):
    size = int(max(6, round(size)))
    key = (path, size)
    f = _FONT_CACHE.get(key)
    if f is None:
        if len(_FONT_CACHE) > 3000:
            _FONT_CACHE.clear()
        f = _FONT_CACHE[key] = ImageFont.truetype(path, size)
    return f


def text_size(fnt, text):
    x0, y0, x1, y1 = fnt.getbbox(text)
    return x1 - x0, y1 - y0


def draw_text(draw, xy, text, fnt, fill, anchor="la"):
    """Draws text and returns (bbox, chars): chars is [(ch, x0, y0, x1, y1)] for every non-space
    character, from the advance widths (good to a pixel or two; the targets are coarser)."""
    x, y = xy
    bbox = draw.textbbox((x, y), text, font=fnt, anchor=anchor)
    draw.text((x, y), text, font=fnt, fill=fill, anchor=anchor)
    total = fnt.getlength(text)
    # left edge of the advance box, whatever the anchor
    left = bbox[0] if anchor[0] == "l" else (x - total / 2 if anchor[0] == "m" else x - total)
    chars = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        a = fnt.getlength(text[:i])
        b = fnt.getlength(text[:i + 1])
        chars.append((ch, left + a, bbox[1], left + b, bbox[3]))
    return bbox, chars


def draw_rotated_text(img, xy, text, fnt, fill, angle, anchor="center-top"):
    """Text rotated by `angle` degrees (counter-clockwise) pasted so that its rotated box's top
    centre (anchor center-top) or right-middle (anchor right-middle) sits at xy. Returns the bbox."""
    w, h = text_size(fnt, text)
    pad = 4
    tmp = Image.new("L", (int(w + 2 * pad + fnt.size), int(h + 2 * pad + fnt.size)), 0)
    ImageDraw.Draw(tmp).text((pad, pad), text, font=fnt, fill=255)
    box = tmp.getbbox() or (0, 0, 1, 1)
    tmp = tmp.crop(box).rotate(angle, expand=True, resample=Image.BICUBIC)
    tw, th = tmp.size
    x, y = xy
    if anchor == "center-top":
        x0, y0 = int(x - tw / 2), int(y)
    elif anchor == "right-top":
        x0, y0 = int(x - tw), int(y)
    else:  # right-middle
        x0, y0 = int(x - tw), int(y - th / 2)
    solid = Image.new("RGB", tmp.size, fill)
    img.paste(solid, (x0, y0), tmp)
    return (x0, y0, x0 + tw, y0 + th)


def degrade(img, rng):
    """Scanner / screenshot / chat-app damage: JPEG, blur, noise, down-and-up scaling."""
    r = rng.random()
    if r < 0.12:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(35, 92))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    elif r < 0.18:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    elif r < 0.24:
        a = np.asarray(img).astype(np.int16)
        noise = np.random.RandomState(rng.randint(0, 2 ** 31 - 1)).normal(0, rng.uniform(3, 10), a.shape)
        img = Image.fromarray(np.clip(a + noise, 0, 255).astype(np.uint8))
    elif r < 0.28:
        w, h = img.size
        f = rng.uniform(0.45, 0.8)
        img = img.resize((max(8, int(w * f)), max(8, int(h * f))), Image.BILINEAR).resize((w, h), Image.BICUBIC)
    return img
