"""Stage 1's auxiliary heads on the tower's grids (training only; never exported) and their losses
and read-outs. The heads are linear on the stage-5 features where the language model will have
to find the same facts, so what the heads can read, a projector can pass on."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .vocab import N_LABELS, N_CHARS, N_VALUE, VALUE_SLOTS, LINE_KINDS, FORM_FIELDS

NF = len(FORM_FIELDS)


class AuxHeads(nn.Module):
    def __init__(self, c5, c2):
        super().__init__()
        self.norm = nn.LayerNorm(c5)
        self.kind = nn.Linear(c5, 3)
        self.count = nn.Linear(c5, 5)
        self.colour = nn.Linear(c5, 9)
        self.label = nn.Linear(c5, N_LABELS)
        self.rank = nn.Linear(c5, 4)
        self.tick = nn.Linear(c5, N_LABELS)
        self.line = nn.Linear(c5, len(LINE_KINDS))
        self.present = nn.Linear(c5, NF)
        self.slots = nn.Sequential(nn.Linear(c5, 512), nn.GELU(), nn.Linear(512, NF * VALUE_SLOTS * N_VALUE))
        self.char_norm = nn.LayerNorm(c2)
        self.chars = nn.Linear(c2, N_CHARS)
        self.text = nn.Linear(c2, 1)

    def forward(self, h5, h2):
        """h5 (B, C5, g, g), h2 (B, C2, G2, G2) -> dict of logits, cells last-but-one."""
        x = self.norm(h5.permute(0, 2, 3, 1))  # (B, g, g, C5)
        out = {k: getattr(self, k)(x) for k in ("kind", "count", "colour", "label", "rank", "tick", "line", "present")}
        b, g = x.shape[0], x.shape[1]
        out["slots"] = self.slots(x).view(b, g, g, NF, VALUE_SLOTS, N_VALUE)
        y = self.char_norm(h2.permute(0, 2, 3, 1))
        out["chars"] = self.chars(y)
        out["text"] = self.text(y)[..., 0]
        return out


WEIGHTS = {"kind": 0.3, "count": 1.0, "colour": 1.0, "label": 1.0, "rank": 1.0, "tick": 0.5, "line": 0.5,
           "present": 0.5, "slots": 1.0, "chars": 0.5, "text": 0.5}
READING = ("label", "tick", "line", "present", "slots", "chars", "text")


def ce(logits, target):
    n = logits.shape[-1]
    t = target.reshape(-1)
    if (t != -100).sum() == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, n), t, ignore_index=-100)


def losses(out, t, reading_weight=1.0):
    ls = {}
    for k in ("kind", "count", "colour", "label", "rank", "tick", "line"):
        ls[k] = ce(out[k], t[k])
    # whether a cell holds a character, and which one where it does: apart, so that the many empty
    # cells do not drown the glyph classes
    ct = t["chars"]
    ls["text"] = F.binary_cross_entropy_with_logits(out["text"], (ct > 0).float())
    on = ct > 0
    ls["chars"] = F.cross_entropy(out["chars"][on][:, 1:], ct[on] - 1) if on.any() else out["chars"].sum() * 0
    pres = t["present"].permute(0, 2, 3, 1)  # (B, F, g, g) -> (B, g, g, F)
    m = pres >= 0
    ls["present"] = F.binary_cross_entropy_with_logits(out["present"][m], pres[m]) if m.any() else out["present"].sum() * 0
    # slot loss at every cell that holds a line of that field
    on = pres > 0.5  # (B, g, g, F)
    if on.any():
        logits = out["slots"][on]  # (n, SLOTS, V)
        b_idx = on.nonzero()[:, 0]
        f_idx = on.nonzero()[:, 3]
        tgt = t["slots"][b_idx, f_idx]  # (n, SLOTS)
        ls["slots"] = F.cross_entropy(logits.reshape(-1, N_VALUE), tgt.reshape(-1))
    else:
        ls["slots"] = out["slots"].sum() * 0
    total = sum(WEIGHTS[k] * (reading_weight if k in READING else 1.0) * v for k, v in ls.items())
    return total, {k: float(v) for k, v in ls.items()}


@torch.no_grad()
def readouts(out, t, anns):
    """Per-image answers read straight off the heads, as the language model would have to: the
    proxy accuracies of the gate. Returns {family: [correct bools]}."""
    from .vocab import ALL_LABELS, COLOURS, VALUE_CHARS
    res = {k: [] for k in ("count", "colour_at_bar", "label", "rank", "colour", "highest", "lowest", "invoice", "total",
                           "date", "chars", "kind")}
    B = out["kind"].shape[0]
    for i in range(B):
        ann = anns[i]
        kind_pred = int(out["kind"][i].mean((0, 1)).argmax())
        res["kind"].append(kind_pred == {"other": 0, "chart": 1, "form": 2}[ann["kind"]])
        if ann["kind"] == "chart":
            res["count"].append(int(out["count"][i].mean((0, 1)).argmax()) + 2 == len(ann["bars"]))
            rank = out["rank"][i].softmax(-1)
            lab = out["label"][i]
            for r, fam in ((2, "highest"), (3, "lowest")):
                cell = divmod(int(rank[..., r].argmax()), rank.shape[1])
                pred = int(lab[cell].argmax())
                vals = [b["value"] for b in ann["bars"]]
                j = int(torch.tensor(vals).argmax()) if r == 2 else int(torch.tensor(vals).argmin())
                res[fam].append(pred >= 1 and ALL_LABELS[pred - 1] == ann["bars"][j]["label"])
            lp = lab.softmax(-1)
            for b in ann["bars"]:
                lid = ALL_LABELS.index(b["label"]) + 1
                cell = divmod(int(lp[..., lid].argmax()), lp.shape[1])
                pred = int(out["colour"][i][cell].argmax())
                res["colour"].append(pred >= 1 and COLOURS[pred - 1] == b["colour"])
                # read at the bar's own cells: colour, label identity and rank recognition on their own
                cells = t["label"][i] == lid
                if cells.any():
                    res["label"].append(int(lab[cells].mean(0).argmax()) == lid)
                    res["colour_at_bar"].append(int(out["colour"][i][cells].mean(0).argmax()) == COLOURS.index(b["colour"]) + 1)
                    res["rank"].append(int(out["rank"][i][cells].mean(0).argmax()) == int(t["rank"][i][cells][0]))
        elif ann["kind"] == "form":
            pres = out["present"][i].sigmoid()
            for fi, f in enumerate(FORM_FIELDS):
                cell = divmod(int(pres[..., fi].argmax()), pres.shape[1])
                slots = out["slots"][i][cell][fi].argmax(-1).tolist()
                s = ""
                for c in slots:
                    if c == 0:
                        break
                    s += VALUE_CHARS[c - 1]
                res[f].append(s == ann["values"][f])
        ct = t["chars"][i]
        m = ct > 0
        if m.any():
            res["chars"].extend((out["chars"][i][..., 1:].argmax(-1)[m] + 1 == ct[m]).tolist())
    return res
