"""From a non-intervention rate to outcome prices (the pricing engine)."""

from pbr_eval.pricing.recommend import PriceRecommendation, price, price_from_rate

__all__ = ["PriceRecommendation", "price", "price_from_rate"]
