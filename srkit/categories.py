"""The 10 segmentation categories (docs/DESIGN.md §2): SFT-GAN's outdoor (OST) order, then the
paper's two broadcast classes."""

CATEGORIES = ("background", "sky", "water", "grass", "mountain", "building", "plant", "animal", "face", "text")
NUM_CATEGORIES = len(CATEGORIES)
CATEGORY_INDEX = {name: i for i, name in enumerate(CATEGORIES)}

# One display colour per category (RGB in [0, 1]), for overlays, label images and their colour key:
# background grey, sky light blue, water deep blue, grass light green, mountain brown, building
# orange, plant dark green, animal pink, face skin, text red.
CATEGORY_COLORS = ((0.5, 0.5, 0.5), (0.55, 0.8, 1.0), (0.1, 0.3, 0.9), (0.4, 0.85, 0.3), (0.55, 0.4, 0.25),
                   (0.85, 0.6, 0.2), (0.1, 0.55, 0.1), (0.9, 0.5, 0.8), (1.0, 0.85, 0.6), (0.95, 0.1, 0.1))
