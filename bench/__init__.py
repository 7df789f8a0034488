"""``make bench``: kbroker and Tansu side by side, ratios reported."""
