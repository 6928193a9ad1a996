"""Sentences computed from measured numbers, so a notebook's comment on a result is the result's own.

A notebook prints these under a figure or table; each quotes the numbers it is built from (rounded as
shown), so an assert cell can check them and a rerun on other weights says what those weights do.
"""
from __future__ import annotations

import numpy as np

FLAT_DB = 0.05  # PSNR changes below this are "flat": the tolerance the golden-value tests hold PSNR to
MAX_PHASES = 3  # phases spelled out one by one; what follows is summarised as a range


def phases(values, tol: float = FLAT_DB) -> list[tuple[str, int, int, float]]:
    """A series over t = 0 … T split into runs that rise, fall or stay flat.

    A step changing by less than ``tol`` is flat; a flat run whose total change reaches ``tol`` (a slow
    drift) counts as rising or falling, one flat step that goes on in the direction of the run before
    it joins that run, and neighbouring runs of one kind merge.

    Returns:
        [(kind, t_start, t_end, change)], kind 'rises' | 'falls' | 'flat', change = values[t_end] −
        values[t_start]; [] for fewer than 2 values.
    """
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return []

    def kind(change: float) -> str:
        return "rises" if change >= tol else "falls" if change <= -tol else "flat"

    runs: list[list] = []
    for t, d in enumerate(np.diff(v)):
        k = kind(d)
        if runs and runs[-1][0] == k:
            runs[-1][2] = t + 1
        else:
            runs.append([k, t, t + 1])
    merged: list[list] = []
    for k, a, b in runs:
        if k == "flat":
            k = kind(v[b] - v[a])  # a slow drift is a rise or a fall
            if k == "flat" and b - a == 1 and merged and np.sign(v[b] - v[a]) == (1 if merged[-1][0] == "rises" else -1):
                k = merged[-1][0]  # one small step that goes on in the same direction is part of the run
        if merged and merged[-1][0] == k:
            merged[-1][2] = b
        else:
            merged.append([k, a, b])
    return [(k, a, b, float(v[b] - v[a])) for k, a, b in merged]


def describe_series(values, unit: str = "dB", what: str = "PSNR", tol: float = FLAT_DB) -> str:
    """One clause on a series over t, e.g. 'PSNR rises 0.31 dB from t=0 to t=3, then flat to t=7'."""
    v = np.asarray(values, dtype=float)
    runs = phases(v, tol)
    if not runs:
        return f"{what} {v[0]:.2f} {unit} at t=0 (one step only)" if len(v) else f"no {what} values"
    words = []
    for i, (k, a, b, change) in enumerate(runs[:MAX_PHASES]):
        span = f"from t={a} to t={b}" if i == 0 else f"to t={b}"
        words.append(f"flat (within {tol:g} {unit}) {span}" if k == "flat" else f"{k} {abs(change):.2f} {unit} {span}")
    if len(runs) > MAX_PHASES:
        rest = v[runs[MAX_PHASES][1]:]
        words.append(f"moves between {rest.min():.2f} and {rest.max():.2f} {unit} to t={len(v) - 1}, "
                     f"ending at {v[-1]:.2f} {unit}")
    return f"{what} " + ", then ".join(words)


def ikc_steps_sentence(name: str, psnr, code_error, psnr_true: float | None = None, start: str | None = None,
                       tol: float = FLAT_DB) -> str:
    """What one variant's IKC run does over t = 0 … T, from its measured PSNR and kernel-code error.

    Args:
        name: the variant (e.g. 'sftmd').
        psnr: PSNR (dB) of SR_t for t = 0 … T.
        code_error: ‖h_t − h_true‖ for t = 0 … T.
        psnr_true: PSNR of the generator given the true kernel's code (the upper bound), or None.
        start: where h0 came from, e.g. "P's estimate" or "σ = 0.60" (None: not said).
        tol: PSNR changes below this many dB are flat (default ``FLAT_DB``).

    Returns:
        e.g. "sftmd (h0: P's estimate): PSNR rises 0.29 dB from t=0 to t=1, then falls 1.00 dB to
        t=7. The code error grows 0.033 → 0.073: the corrector moves the kernel estimate away from the
        true one. At the reported t=7: −0.71 dB against t=0, 1.00 dB below its best step (t=1), 2.53 dB
        short of the true kernel (34.38 dB)."
    """
    p, e = np.asarray(psnr, dtype=float), np.asarray(code_error, dtype=float)
    if len(p) != len(e) or len(p) < 2:
        raise ValueError(f"psnr and code_error need one value per step t = 0 … T (≥ 2), got {len(p)} and {len(e)}")
    if not (np.isfinite(p).all() and np.isfinite(e).all()):
        raise ValueError(f"{name}: non-finite PSNR or code error over t: {p.round(2)}, {e.round(4)}")
    T, best = len(p) - 1, int(np.argmax(p))
    head = f"{name} (h0: {start})" if start else name
    out = [f"{head}: {describe_series(p, tol=tol)}."]
    closest = int(np.argmin(e))
    if e[-1] <= 0.9 * e[0]:
        code = f"The code error falls {e[0]:.3f} → {e[-1]:.3f}: the corrector brings the kernel estimate toward the true one"
        if 0 < closest < T and e[-1] > 1.1 * e[closest]:
            code += f", closest at t={closest} ({e[closest]:.3f}) and drifting away after it"
    elif e[-1] >= 1.1 * e[0]:
        code = (f"The code error grows {e[0]:.3f} → {e[-1]:.3f}: the corrector moves the kernel estimate away "
                f"from the true one")
    else:
        code = f"The code error stays near {e[0]:.3f} ({e[-1]:.3f} at t={T}): the corrections barely move the estimate"
    out.append(code + ".")
    net, gap_best = p[-1] - p[0], p[best] - p[-1]
    verdict = f"At the reported t={T}: {net:+.2f} dB against t=0"
    verdict += f", {gap_best:.2f} dB below its best step (t={best})" if gap_best >= tol else ", at its best"
    if psnr_true is not None and np.isfinite(psnr_true):
        gap = psnr_true - p[-1]
        verdict += (f", {gap:.2f} dB short of the true kernel ({psnr_true:.2f} dB)" if gap >= 0 else
                    f", {-gap:.2f} dB above the true kernel ({psnr_true:.2f} dB)")
    out.append(verdict + ".")
    return " ".join(out)


def gaussian8_sentences(g8: dict[str, dict], sets=("Set5", "Set14", "B100"), scale: int = 2) -> list[str]:
    """What the Gaussian8 table of the variants says about each kernel-conditioned one, in numbers.

    Args:
        g8: {variant: ``srkit bench gaussian8`` results} as notebook 05 loads them; the kernel variants
            hold 'true_kernel', 'ikc' (the fixed step) and 'ikc_t0' … 'ikc_tT', the others 'sr'.
        sets, scale: the columns compared.

    Returns:
        One sentence per kernel variant: its true-kernel and blind PSNR per set against the best
        variant without a kernel, and how its blind PSNR moves over t on the first set; [] when the
        table has no kernel variant or no variant without one.
    """
    def psnr(res, method, s):
        r = res.get(method, {}).get(s, {}).get(str(scale))
        return float(r["psnr"]) if r else float("nan")

    plain = {v: r for v, r in g8.items() if "sr" in r}
    out = []
    for v, res in g8.items():
        if "ikc" not in res or not plain:
            continue
        shown = [s for s in sets if np.isfinite(psnr(res, "ikc", s))]
        if not shown:
            continue
        best = {s: max(plain, key=lambda p, s=s: psnr(plain[p], "sr", s)) for s in shown}
        ref = {s: psnr(plain[best[s]], "sr", s) for s in shown}
        true = [psnr(res, "true_kernel", s) for s in shown]
        blind = [psnr(res, "ikc", s) for s in shown]
        names = " / ".join(shown)
        refs = sorted(set(best.values()))
        text = (f"{v}: given the true kernel {' / '.join(f'{x:.2f}' for x in true)} dB on {names}, "
                f"{' / '.join(f'{t - ref[s]:+.2f}' for t, s in zip(true, shown))} dB against the best variant "
                f"without a kernel ({', '.join(refs)}); blind (IKC, the fixed step) "
                f"{' / '.join(f'{x:.2f}' for x in blind)} dB, {' / '.join(f'{b - ref[s]:+.2f}' for b, s in zip(blind, shown))} dB.")
        steps = sorted(int(k[5:]) for k in res if k.startswith("ikc_t") and k[5:].isdigit())
        if steps:
            s0 = shown[0]
            over_t = [psnr(res, f"ikc_t{t}", s0) for t in steps]
            text += f" Over t on {s0}, {describe_series(over_t)}"
            t_best = int(np.nanargmax(over_t))
            text += (f"; its best step (t={steps[t_best]}, {over_t[t_best]:.2f} dB) is "
                     f"{over_t[t_best] - ref[s0]:+.2f} dB against {best[s0]}.")
        lost = [s for t, b, s in zip(true, blind, shown) if t > ref[s] > b]
        if lost:
            text += (f" On {', '.join(lost)} it leads with the true kernel and trails blind: the kernel estimate, "
                     "not the generator, costs it the lead.")
        out.append(text)
    return out
