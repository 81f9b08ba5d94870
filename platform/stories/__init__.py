"""Return stories: placements told by the people in them, published with both their consent."""
