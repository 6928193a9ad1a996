"""Inference: the whole system behind one call and everything that keeps its output honest.

- :mod:`.pipeline`: ``Pipeline`` (segmenter + generator + IKC predictor/corrector + PCA), ``srkit.load``
  and ``estimate_kernel``, the one kernel estimator of every inference path;
- :mod:`.guard`: the checks on kernel codes and on the networks' output (never a silently wrong picture);
- :mod:`.runner`: any model as per-tile functions, each tile's output checked;
- :mod:`.tiling`: ``srkit.upscale``, tiled for images of any size;
- :mod:`.video`: video files (deinterlacing, aspect, colour, codecs, every stream kept).
"""
