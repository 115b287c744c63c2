"""Page building blocks: gallery, image detail, the decision form, the explanation panel, the review queue."""
