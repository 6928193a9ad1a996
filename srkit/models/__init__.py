"""srkit networks, one per file: sft (generator G), ikc (predictor P, corrector C), seg (SegNet),
disc (discriminator D), losses. Import the submodule you need; nothing is imported here so that a
missing optional dependency (timm) only affects the models that use it."""
