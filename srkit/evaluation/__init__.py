"""Evaluation: the benchmarks (bicubic, Gaussian8, Table 1), trained-model methods for them, and
per-category metrics with OCR. PSNR/SSIM themselves are in :mod:`srkit.metrics`.

- :mod:`srkit.evaluation.bench`: ``run_bicubic_bench``, ``run_gaussian8_bench``, ``format_table``.
- :mod:`srkit.evaluation.gaussian8`: Gaussian8 methods from bundled or trained pipelines.
- :mod:`srkit.evaluation.table1`: the paper's Table 1 shape (LR vs SR at σn = 15), ``compare``.
- :mod:`srkit.evaluation.categories`, :mod:`srkit.evaluation.ocr`: faces, text and scene categories.
"""
