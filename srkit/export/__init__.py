"""Export of srkit models to formats other tools run: ``srkit.export.onnx`` writes the generator,
the IKC predictor and the segmenter as ONNX files (ONNX Runtime, TensorRT, VapourSynth vs-mlrt,
FFmpeg's DNN filters). Nothing here is imported by the rest of the package."""
