"""The 10 segmentation categories (docs/DESIGN.md §2): SFT-GAN's outdoor (OST) order, then the
paper's two broadcast classes."""

CATEGORIES = ("background", "sky", "water", "grass", "mountain", "building", "plant", "animal", "face", "text")
NUM_CATEGORIES = len(CATEGORIES)
CATEGORY_INDEX = {name: i for i, name in enumerate(CATEGORIES)}
