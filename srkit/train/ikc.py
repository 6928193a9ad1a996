"""IKC alternating training (paper §2.2(2)): each iteration updates P, then C over the t steps,
then the SFT generator G.

1. P:  h0 = P(LR);                       loss |h0 − h_true|, one Adam step on P.
2. C:  h = h0 (detached); for i < t:     SR_i = G(LR | h, ψ) without gradients,
                                         h' = C(SR_i, h), loss |h' − h_true|, one Adam step on C,
                                         h = h' detached (IKC cuts the graph between steps).
3. G:  SR = G(LR | h_G, ψ);              pixel loss vs HR, one Adam step on G (h_G = the true code by
                                         default, or C's last estimate; skipped when G is frozen).

IKC itself trains SFTMD first (``srkit train sftmd``) and then P and C against the frozen G: pass
that checkpoint as ``init_from`` and ``freeze_generator=True`` for that recipe.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig, run_ikc
from srkit.models.losses import pixel_loss
from srkit.train import dist
from srkit.train.loop import batch_psnr, frozen
from srkit.train.sftmd import GeneratorStage, SFTMDConfig


@dataclass
class IKCConfig(SFTMDConfig):
    """IKC settings (plus every SFTMDConfig / TrainConfig field; use_kernel is always True).

    Attributes:
        t: correction steps per iteration (paper: 7). 0 is a predictor-only stage: C and G are
            neither run nor updated, so a step costs only P's forward and backward pass.
        predictor / corrector: PredictorConfig / CorrectorConfig presets ('tiny', 'small', 'default';
            the predictor also has 'medium').
        code_loss: 'l1' or 'l2' between estimated and true codes.
        freeze_generator: do not update G (IKC's recipe after an SFTMD stage).
        g_code: code G is trained with in step 3: 'true' (h_true) or 'estimated' (C's last h).
        g_every: update G every this many iterations (1 = every iteration).
        freeze_predictor: do not update P (a corrector-only stage on top of a trained P and G).
        start_jitter: fraction of samples whose corrector run starts from a wrong code instead of
            P's estimate: h0 + u·(h_other − h0), with h_other the true code of another sample in the
            batch and u ~ U(0, 1). A good P leaves C only tiny errors to learn from, and the SR
            images then barely show them; large, realistic errors teach C what a too-sharp or
            too-blurry code looks like, and the later steps still train it on its own small errors.
        corrector_sr_loss: weight of an SR term in C's loss (0 = IKC's code loss alone): the pixel
            loss between G(LR | C's code) and HR, back-propagated through the frozen G into C. The
            code loss weighs every code direction alike; G does not (a code with the right width
            but a narrow core and wide tails acts on G like a sharper kernel), and for some images
            G's best code is not the true one. Needs freeze_generator; one more G forward and
            backward per corrector step.
    """
    t: int = 7
    predictor: str = "small"
    corrector: str = "small"
    code_loss: str = "l1"
    freeze_generator: bool = False
    g_code: str = "true"
    g_every: int = 1
    freeze_predictor: bool = False
    start_jitter: float = 0.0
    corrector_sr_loss: float = 0.0

    PRESETS: ClassVar[dict[str, dict]] = {
        "smoke": dict(out="runs/smoke-ikc", steps=40, batch=4, patch=48, t=2, generator="tiny", predictor="tiny",
                      corrector="tiny", val_images=2, val_patch=64, log_every=5, val_every=20, ckpt_every=20,
                      pca_samples=5000, lr=1e-3),
        # ~3× an sftmd step (t=4 corrector passes): about an hour on 2 cores.
        "cpu": dict(out="runs/cpu-ikc", steps=1500, batch=8, patch=96, t=4, generator="small", predictor="small",
                    corrector="small", lr=1e-4, val_every=500, ckpt_every=500, log_every=20),
        "gpu": dict(out="runs/gpu-ikc", steps=300000, batch=16, patch=192, t=7, generator="default",
                    predictor="default", corrector="default", val_every=5000, ckpt_every=5000, log_every=100,
                    val_images=16, val_patch=192, lr_decay_at=(0.4, 0.6, 0.8)),
    }

    def __post_init__(self):
        super().__post_init__()
        if (self.t < 0 or self.code_loss not in ("l1", "l2") or self.g_code not in ("true", "estimated")
                or not 0.0 <= self.start_jitter <= 1.0):
            raise ValueError(f"IKCConfig needs t >= 0, code_loss 'l1'/'l2', g_code 'true'/'estimated', "
                             f"start_jitter in [0, 1]: t={self.t}, code_loss={self.code_loss!r}, "
                             f"g_code={self.g_code!r}, start_jitter={self.start_jitter!r}")
        if self.corrector_sr_loss < 0 or (self.corrector_sr_loss and not self.freeze_generator):
            raise ValueError("IKCConfig: corrector_sr_loss must be >= 0 and needs freeze_generator=True "
                             f"(got {self.corrector_sr_loss!r}, freeze_generator={self.freeze_generator})")
        if self.t == 0 and (self.freeze_predictor or not self.freeze_generator):
            raise ValueError("IKCConfig: t = 0 is a predictor-only stage; it needs freeze_generator=True and "
                             f"freeze_predictor=False (got {self.freeze_generator}, {self.freeze_predictor})")


class IKCTrainer(GeneratorStage):
    name = "ikc"

    def build(self) -> None:
        cfg = self.cfg
        self.build_generator_stage()
        g = self.modules["generator"]
        if not g.cfg.use_kernel:
            raise ValueError(f"IKC needs a kernel-conditioned generator; {cfg.init_from} holds a "
                             f"{g.cfg.variant} generator (use_kernel=False)")
        b = self.pca.b
        mods = self.init.modules if self.init is not None else {}
        p = mods.get("predictor") or Predictor(PredictorConfig.preset(cfg.predictor, code_len=b))
        c = mods.get("corrector") or Corrector(CorrectorConfig.preset(cfg.corrector, scale=cfg.scale, code_len=b))
        self.modules.update(predictor=p.to(self.device), corrector=c.to(self.device))
        if cfg.t == 0:
            self.c = frozen(c)
        else:
            self.c = dist.wrap(c, self.device)
            self.adam("corrector", c.parameters())
        if cfg.freeze_predictor:
            self.p = frozen(p)
        else:
            self.p = dist.wrap(p, self.device)
            self.adam("predictor", p.parameters())
        if cfg.freeze_generator:
            self.g = frozen(g)
        else:
            self.g = dist.wrap(g, self.device)
            self.adam("generator", g.parameters())

    def code_loss(self, h: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return pixel_loss(h, target, self.cfg.code_loss)  # plain L1/L2 over the N×b codes

    def jitter(self, h0: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """C's starting codes: h0, with a ``start_jitter`` fraction moved toward other samples' codes."""
        n, frac = h0.shape[0], self.cfg.start_jitter
        if frac == 0.0 or n < 2:
            return h0
        g = self.step_generator()
        pick = (torch.rand(n, 1, generator=g) < frac).to(h0)
        u = torch.rand(n, 1, generator=g).to(h0)
        other = code[(torch.arange(n) + torch.randint(1, n, (1,), generator=g)) % n]  # another sample's true code
        return h0 + pick * u * (other - h0)

    def train_step(self, batch: dict) -> dict[str, float]:
        cfg = self.cfg
        lr, code = batch["lr"], batch["code"]
        seg = self.seg(lr) if cfg.t else None  # t = 0 runs neither C nor G, so needs no ψ
        g_raw = dist.unwrap(self.modules["generator"])
        # 1. predictor
        h0 = self.p(lr)
        if cfg.freeze_predictor:
            out = {"predictor_code": float(self.code_loss(h0, code))}
        else:
            out = {"predictor_code": self.optimize("predictor_code", self.code_loss(h0, code), "predictor")}
        # 2. corrector over the t steps, G fixed, graph cut between steps
        h, c_losses, sr_losses = self.jitter(h0.detach(), code), [], []
        for _ in range(cfg.t):
            with torch.no_grad():
                sr = g_raw(lr, h, seg)
            h_next = self.c(sr, h)
            loss = self.code_loss(h_next, code)
            if cfg.corrector_sr_loss:  # G is frozen: the gradient reaches only C, through the code
                sr_term = pixel_loss(g_raw(lr, h_next, seg), batch["hr"], cfg.pixel)
                sr_losses.append(float(sr_term.detach()))
                c_losses.append(float(loss.detach()))
                self.optimize("corrector", loss + cfg.corrector_sr_loss * sr_term)
            else:
                c_losses.append(self.optimize("corrector_code", loss, "corrector"))
            h = h_next.detach()
        if c_losses:
            out["corrector_code"] = sum(c_losses) / len(c_losses)
            out["corrector_code_last"] = c_losses[-1]
        if sr_losses:
            out["corrector_sr"] = sum(sr_losses) / len(sr_losses)
        # 3. generator
        if not cfg.freeze_generator and self.step % cfg.g_every == 0:
            sr = self.g(lr, code if cfg.g_code == "true" else h, seg)
            out["pixel"] = self.optimize("pixel", pixel_loss(sr, batch["hr"], cfg.pixel), "generator")
        return out

    def validate(self) -> dict[str, float]:
        b, s = self.val_batch, self.cfg.scale
        res = run_ikc(b["lr"], dist.unwrap(self.modules["generator"]), dist.unwrap(self.p), dist.unwrap(self.c),
                      seg=self.seg(b["lr"]), steps=self.cfg.t)
        return {"val_psnr": batch_psnr(res.sr, b["hr"], s), "val_psnr_p": batch_psnr(res.srs[0], b["hr"], s),
                "val_psnr_true_code": self.val_psnr(), "val_code_err": float((res.code - b["code"]).abs().mean()),
                "val_code_err_p": float((res.codes[0] - b["code"]).abs().mean())}
