"""Checkpoints: one safetensors file holding every network, the kernel PCA and JSON metadata.

Layout: tensors are named ``<module>.<parameter>`` (module names: generator, predictor, corrector,
segnet, discriminator, or any other identifier) plus ``pca.matrix`` / ``pca.mean``. The safetensors
header's ``__metadata__['srkit']`` is a JSON document::

    {"format": "srkit-checkpoint", "version": 1,
     "modules": {"generator": {"class": "SFTGenerator", "config": {...}}, ...},
     "scale": 4, "categories": [...], "pca": {...PCAMeta...} | null, "dtype": "float32" | "float16",
     "meta": {...free-form provenance and metrics...}, "sha256": "<digest of all tensors>"}

Nothing is ever unpickled (docs/DESIGN.md §2): a downloaded file can hold only tensors and text.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from srkit.categories import CATEGORIES
from srkit.kernels import KernelPCA
from srkit.paths import WEIGHTS_DIR

FORMAT, VERSION = "srkit-checkpoint", 1
# The largest value an integer config field may take (widths, depths, class counts, code lengths):
# 64× the bundled networks' widest (nf 64). The tensors are checked against the config before any
# network is built, so a file cannot make srkit allocate more than it holds; this bound keeps even
# the shape-only build (on torch's "meta" device) of an absurd config from taking minutes.
MAX_CONFIG_INT = 4096
MAX_SCALE = 8
MAX_KERNEL_SIZE = 64


def _registry() -> dict[str, tuple[type, type]]:
    """Class name → (module class, config class). Imported lazily: seg needs timm."""
    from srkit.models.disc import Discriminator, DiscriminatorConfig
    from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    from srkit.models.edvr import MultiFrameConfig, MultiFrameGenerator
    reg = {"SFTGenerator": (SFTGenerator, GeneratorConfig), "Predictor": (Predictor, PredictorConfig),
           "MultiFrameGenerator": (MultiFrameGenerator, MultiFrameConfig),
           "Corrector": (Corrector, CorrectorConfig), "Discriminator": (Discriminator, DiscriminatorConfig)}
    try:
        from srkit.models.seg import SegConfig, SegNet
        reg["SegNet"] = (SegNet, SegConfig)
    except ImportError:  # timm missing: every other network still loads
        pass
    return reg


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes: safetensors itself would load flipped bits."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path: str | Path, modules: dict[str, nn.Module], meta: dict | None = None,
                    pca: KernelPCA | None = None, half: bool = False, scale: int | None = None) -> Path:
    """Write modules (+ PCA + metadata) to one safetensors file, atomically.

    Args:
        path: target file (parent folders are created). An existing file is replaced only once
            the new one is completely written.
        modules: name → network with a ``cfg`` dataclass (SFTGenerator, Predictor, Corrector,
            SegNet, Discriminator).
        meta: free-form JSON-serialisable provenance and metrics (training command, iterations,
            PSNR table ...).
        pca: the KernelPCA whose codes the networks use.
        half: store floating-point tensors as float16 (half the size; loaded back as float32).
        scale: the SR factor, for checkpoints whose networks do not define one: a segmenter alone
            has none in its config, so its trainer passes it (S trained on ×4 LR is not the S of a
            ×2 pipeline). A generator's or corrector's ``cfg.scale`` takes precedence.

    Returns:
        The path written.
    """
    from safetensors.torch import save_file

    from srkit.imageio import atomic_path

    reg = _registry()
    tensors: dict[str, torch.Tensor] = {}
    header_modules = {}
    scale = next((m.cfg.scale for m in modules.values() if getattr(getattr(m, "cfg", None), "scale", None)),
                 scale)  # a network built for a factor defines it; ``scale`` is for checkpoints without one
    for name, module in modules.items():
        module = getattr(module, "_orig_mod", module)  # unwrap torch.compile
        cls = type(module).__name__
        if cls not in reg or not dataclasses.is_dataclass(getattr(module, "cfg", None)):
            raise ValueError(f"cannot save module {name!r}: {cls} is not a srkit network with a cfg dataclass "
                             f"(known: {sorted(reg)})")
        if not name.isidentifier() or name == "pca":
            raise ValueError(f"module name {name!r} must be a Python identifier other than 'pca'")
        header_modules[name] = {"class": cls, "config": dataclasses.asdict(module.cfg)}
        for k, t in module.state_dict().items():
            t = t.detach().cpu()
            if half and t.dtype == torch.float32:
                t = t.half()
            tensors[f"{name}.{k}"] = t.clone().contiguous()  # clone: safetensors refuses shared storage
    pca_meta = None
    if pca is not None:
        pca_tensors, pca_meta = pca.state()
        tensors.update({k: v.clone() for k, v in pca_tensors.items()})
    header = {"format": FORMAT, "version": VERSION, "modules": header_modules, "scale": scale,
              "categories": list(CATEGORIES), "pca": pca_meta, "dtype": "float16" if half else "float32",
              "meta": meta or {}, "sha256": tensors_digest(tensors)}
    try:
        text = json.dumps(header)
    except TypeError as e:
        raise ValueError(f"checkpoint metadata for {path} is not JSON-serialisable: {e}") from e
    with atomic_path(path) as tmp:
        mode = stat.S_IMODE(tmp.stat().st_mode)  # atomic_path's choice: 0666 less the umask
        save_file(tensors, str(tmp), metadata={"srkit": text})
        # safetensors puts a new file in place of tmp, made 0600: the checkpoint would be unreadable
        # by the group and others (a shared model folder, a web server) under the usual umask 022.
        os.chmod(tmp, mode)
    return Path(path)


@dataclass
class Checkpoint:
    """What a checkpoint file holds, rebuilt: networks (eval mode), PCA and the full header."""
    modules: dict[str, nn.Module]
    pca: KernelPCA | None
    scale: int | None
    categories: tuple[str, ...]
    meta: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)

    @property
    def trained_scale(self) -> int | None:
        """The SR factor the networks were trained for: the header's, else the training config's
        (segmenter checkpoints written before the header recorded it), else None."""
        config = self.meta.get("config") if isinstance(self.meta, dict) else None
        return self.scale or (config.get("scale") if isinstance(config, dict) else None)


def read_header(path: str | Path) -> dict:
    """The srkit JSON header of a checkpoint, without loading tensors (raises like load_checkpoint)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    _check_readable(path)
    try:
        with safe_open(str(path), "pt") as f:
            raw = (f.metadata() or {}).get("srkit")
    except Exception as e:  # safetensors raises several error types for damaged headers
        foreign = _foreign_format(path)
        if foreign:
            raise ValueError(f"{path}: {foreign}") from e
        raise ValueError(f"{path}: not a readable safetensors file (truncated or corrupt?): {e}") from e
    if raw is None:
        raise ValueError(f"{path}: safetensors file without srkit metadata; not a srkit checkpoint "
                         "(foreign weights must be converted with srkit.checkpoint.save_checkpoint)")
    try:
        header = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: srkit metadata is not valid JSON: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: srkit metadata has format {header.get('format') if isinstance(header, dict) else header!r}, "
                         f"expected {FORMAT!r}")
    if header.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint format version {header.get('version')!r}; this srkit reads "
                         f"version {VERSION} (upgrade srkit?)")
    if not isinstance(header.get("modules"), dict):
        raise ValueError(f"{path}: srkit metadata lacks a 'modules' table")
    return header


_NOT_SAFETENSORS = ("srkit reads only safetensors checkpoints (tensors and text, nothing executable: "
                    "docs/DESIGN.md §2)")


def _foreign_format(path: Path) -> str | None:
    """What a file that is not safetensors is, by its first bytes, and why it is refused; None
    when it looks like nothing known (then it is called truncated or corrupt)."""
    import zipfile
    with open(path, "rb") as handle:
        head = handle.read(8)
    pickle = ("a PyTorch pickle (torch.save, as .pt / .pth / .ckpt files are), which srkit never "
              "loads: unpickling can run any code the file holds. " + _NOT_SAFETENSORS + "; where "
              "you trust the file, load it with torch.load(path, weights_only=True), build the srkit "
              "network, load_state_dict the tensors and write it with srkit.checkpoint.save_checkpoint")
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if any(n.endswith("data.pkl") for n in names):
            return "is " + pickle
        return "is a zip archive, not a safetensors file; " + _NOT_SAFETENSORS
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "is " + pickle.replace("torch.save,", "pickle or the old torch.save,")
    if head[:4] == b"\x89HDF":
        return "is an HDF5 file (Keras or MATLAB weights?), not safetensors; " + _NOT_SAFETENSORS
    if head[:4] == b"GGUF":
        return "is a GGUF file (llama.cpp weights), not safetensors; " + _NOT_SAFETENSORS
    if path.suffix.lower() == ".onnx":
        return ("is an ONNX model (srkit export writes those; it cannot read them back); "
                + _NOT_SAFETENSORS)
    return None


def _check_readable(path: Path) -> None:
    """Raise PermissionError naming the file when this user may not read it: safetensors would
    report that like a damaged file, and "corrupt" sends people looking in the wrong place."""
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except PermissionError as e:
        raise PermissionError(f"cannot read checkpoint {path}: permission denied "
                              "(the file's permissions, not its contents)") from e


def _build(path: Path, name: str, spec: dict, reg: dict, device="cpu") -> nn.Module:
    """The network a header entry describes, on ``device`` ("meta": shapes only, nothing allocated)."""
    cls_name = spec.get("class") if isinstance(spec, dict) else None
    if cls_name not in reg:
        raise ValueError(f"{path}: module {name!r} has unknown class {cls_name!r}; known: {sorted(reg)}"
                         + (" (SegNet needs timm installed)" if cls_name == "SegNet" else ""))
    cls, cfg_cls = reg[cls_name]
    cfg_dict = spec.get("config") or {}
    if not isinstance(cfg_dict, dict):
        raise ValueError(f"{path}: module {name!r} ({cls_name}) config is {type(cfg_dict).__name__}, not a table")
    cfg_dict = dict(cfg_dict)
    known = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(cfg_dict) - known)
    if unknown:
        raise ValueError(f"{path}: module {name!r} ({cls_name}) config has unknown fields {unknown} "
                         "(written by a newer srkit?)")
    _check_config_values(path, name, cls_name, cfg_dict)
    if cls_name == "SegNet":
        cfg_dict["pretrained"] = False  # the file holds the weights: no hub download, no warning
    cfg_dict = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg_dict.items()}  # JSON lists
    try:
        with torch.device(device):
            return cls(cfg_cls(**cfg_dict))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: module {name!r} ({cls_name}) has an invalid config: {e}") from e


def _check_config_values(path: Path, name: str, cls_name: str, config: dict) -> None:
    """Every integer field of a config in [1, MAX_CONFIG_INT] (``aux_classes`` may be 0), before
    anything is built from it."""
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        low = 0 if key == "aux_classes" else 1
        if not low <= value <= MAX_CONFIG_INT:
            raise ValueError(f"{path}: module {name!r} ({cls_name}) asks for {key} = {value:,}; srkit "
                             f"accepts {low} to {MAX_CONFIG_INT:,} (a damaged or hostile header?)")


def _module_state(name: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    prefix = name + "."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _check_state(path: Path, name: str, module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """The file's tensors of one module against the module its config builds (names and shapes;
    ``module`` may live on the "meta" device)."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs config {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or extra or wrong:
        raise ValueError(f"{path}: tensors of module {name!r} do not match its config "
                         f"({type(module).__name__}): missing {missing[:5]}, unexpected {extra[:5]}, "
                         f"shape mismatches {wrong[:5]}")


def _load_state(path: Path, name: str, module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    state = _module_state(name, tensors)
    _check_state(path, name, module, state)
    expected = module.state_dict()
    # float16 storage goes back to each parameter's own dtype (float32).
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})


def _check_finite(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Refuse NaN or infinite weights, naming the first tensor that holds them: such a network
    returns NaN, which the output guard would silently replace by the bicubic upscale."""
    bad = {k: int(t.numel() - int(torch.isfinite(t).sum())) for k, t in tensors.items()
           if t.is_floating_point()}
    bad = {k: n for k, n in bad.items() if n}
    if bad:
        first = sorted(bad)[0]
        raise ValueError(f"{path}: {len(bad)} of its {len(tensors)} tensors hold NaN or infinite values "
                         f"({first}: {bad[first]:,} of {tensors[first].numel():,}); srkit refuses "
                         "non-finite weights (a diverged training run or a damaged file)")


def _check_header_fields(path: Path, header: dict) -> None:
    """The fields beside the modules' configs: scale, categories, PCA size, against the configs."""
    scale = header.get("scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int)
                              or not 1 <= scale <= MAX_SCALE):
        raise ValueError(f"{path}: header scale {scale!r} is not an integer factor 1 to {MAX_SCALE}")
    categories = header.get("categories")
    if categories is not None and (not isinstance(categories, list) or len(categories) > MAX_CONFIG_INT
                                   or not all(isinstance(c, str) for c in categories)):
        raise ValueError(f"{path}: header categories must be a list of at most {MAX_CONFIG_INT:,} names")
    for name, spec in header["modules"].items():
        config = spec.get("config") if isinstance(spec, dict) else None
        if not isinstance(config, dict):
            continue
        own = config.get("scale")
        if scale is not None and isinstance(own, int) and own != scale:
            raise ValueError(f"{path}: module {name!r} is configured for ×{own} but the header says ×{scale}")
        classes = config.get("num_classes")
        uses_seg = config.get("use_seg", spec.get("class") == "SegNet")
        if categories and uses_seg and isinstance(classes, int) and classes != len(categories):
            raise ValueError(f"{path}: module {name!r} has {classes} classes but the header names "
                             f"{len(categories)} categories")
    pca = header.get("pca")
    if pca is None:
        return
    if not isinstance(pca, dict):
        raise ValueError(f"{path}: header pca is {type(pca).__name__}, not a table")
    b, size = pca.get("b"), pca.get("kernel_size")
    for key, value, high in (("b", b, MAX_CONFIG_INT), ("kernel_size", size, MAX_KERNEL_SIZE)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValueError(f"{path}: header pca {key} {value!r} is not an integer 1 to {high}")
    for name, spec in header["modules"].items():
        config = spec.get("config") if isinstance(spec, dict) else None
        code_len = config.get("code_len") if isinstance(config, dict) else None
        if isinstance(code_len, int) and config.get("use_kernel", True) and code_len != b:
            raise ValueError(f"{path}: module {name!r} takes kernel codes of length {code_len} but "
                             f"the PCA gives {b}")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild every network and the PCA stored in ``path`` (eval mode, on ``device``).

    Raises:
        FileNotFoundError: no such file.
        PermissionError: the file exists but this user may not read it.
        ValueError: truncated/corrupt file, no srkit metadata, unknown class, or tensors that do
            not match the stored configuration; the message names the file and the problem.
    """
    from safetensors.torch import load_file

    path = Path(path)
    header = read_header(path)
    try:
        tensors = load_file(str(path))
    except Exception as e:
        raise ValueError(f"{path}: tensor data unreadable (truncated or corrupt?): {e}") from e
    if header.get("sha256") not in (None, tensors_digest(tensors)):
        raise ValueError(f"{path}: tensor data does not match the checksum in its header (corrupt file)")
    _check_header_fields(path, header)
    _check_finite(path, tensors)
    reg = _registry()
    # Every module's tensors are checked against its config before any network is built: the
    # shape-only build on torch's "meta" device allocates nothing, so a header asking for more
    # than its tensors hold (nf = 65536: 154 GB) is refused here instead of exhausting memory.
    for name, spec in header["modules"].items():
        _check_state(path, name, _build(path, name, spec, reg, "meta"), _module_state(name, tensors))
    modules = {}
    for name, spec in header["modules"].items():
        module = _build(path, name, spec, reg)
        _load_state(path, name, module, tensors)
        modules[name] = module.to(device).eval()
    pca = None
    if header.get("pca") is not None:
        try:
            pca = KernelPCA.from_state(tensors, header["pca"]).to(device)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e
    return Checkpoint(modules=modules, pca=pca, scale=header.get("scale"),
                      categories=tuple(header.get("categories") or CATEGORIES),
                      meta=header.get("meta") or {}, header=header)


def resolve(name_or_path: str | Path) -> Path:
    """A bundled model name ('x2', 'x4' → ``srkit.paths.WEIGHTS_DIR/<name>.safetensors``) or a file path."""
    p = Path(name_or_path)
    looks_like_path = p.suffix == ".safetensors" or len(p.parts) > 1 or p.is_file()
    if looks_like_path:
        if p.is_dir():
            raise FileNotFoundError(f"checkpoint {p} is a folder, not a .safetensors file")
        if not p.is_file():
            names = bundled_names()
            if len(p.parts) == 1 and p.stem in names:
                raise FileNotFoundError(f"checkpoint not found: {p}; the bundled model is named without "
                                        f"the suffix: {p.stem} (bundled: {', '.join(names)})")
            if len(p.parts) == 1:
                raise FileNotFoundError(f"checkpoint not found: {p} (bundled models: "
                                        f"{', '.join(names) or 'none'})")
            raise FileNotFoundError(f"checkpoint not found: {p}")
        return p
    bundled = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    if bundled.is_file():
        return bundled
    raise FileNotFoundError(f"no bundled model named {str(name_or_path)!r} in {WEIGHTS_DIR} "
                            f"(bundled: {', '.join(bundled_names()) or 'none'}) and no such file")


def bundled_names() -> list[str]:
    """The names of the bundled models ('x2', 'x4_archive', ...), sorted."""
    return sorted(f.stem for f in WEIGHTS_DIR.glob("*.safetensors")) if WEIGHTS_DIR.is_dir() else []


def save_pipeline(pipeline, path: str | Path, meta: dict | None = None, half: bool = False) -> Path:
    """Write a whole ``Pipeline`` (its networks, PCA and ``meta`` updated by ``meta``) to one file;
    ``srkit.load(path)`` rebuilds it. ``half``: float16 storage, as the bundles are."""
    return save_checkpoint(path, pipeline.modules(), {**pipeline.meta, **(meta or {})}, pipeline.pca, half)


def load_pipeline(name_or_path: str | Path, device: str | torch.device = "cpu"):
    """``srkit.load``: a ready ``srkit.inference.pipeline.Pipeline`` from a file holding a generator
    (and any of predictor, corrector, segnet, discriminator, PCA).

    Args:
        name_or_path: bundled name ('x2', 'x4', ...) or a .safetensors path.
        device: where to put the networks (default "cpu").

    Raises:
        ValueError: the file holds no generator (a lone segmenter, say: ``load_network``), naming
            what it holds; and everything ``load_checkpoint`` raises.
    """
    from srkit.inference.pipeline import Pipeline

    path = resolve(name_or_path)
    ckpt = load_checkpoint(path, device)
    if "generator" not in ckpt.modules:
        raise ValueError(f"{path} holds {', '.join(sorted(ckpt.modules))} and no generator: not a model to "
                         "upscale with (srkit.load_network loads one network)")
    return Pipeline.from_checkpoint(ckpt)


def load_network(name_or_path: str | Path, device: str | torch.device = "cpu", name: str | None = None) -> nn.Module:
    """``srkit.load_network``: one network of a file, in eval mode on ``device``.

    Args:
        name_or_path: bundled name or a .safetensors path.
        device: where to put it (default "cpu").
        name: which network ('generator', 'segnet', ...); default None: the file's only one.

    Raises:
        ValueError: ``name`` is not in the file, or it is None and the file holds several networks
            (the message lists them).
    """
    path = resolve(name_or_path)
    modules = load_checkpoint(path, device).modules
    if name is None and len(modules) != 1:
        raise ValueError(f"{path} holds {len(modules)} networks ({', '.join(sorted(modules))}); "
                         "pass name= or load the whole model with srkit.load")
    key = name if name is not None else next(iter(modules))
    if key not in modules:
        raise ValueError(f"{path} has no network {key!r}; it holds {', '.join(sorted(modules))}")
    return modules[key]
